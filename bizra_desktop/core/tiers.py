"""The complexity scale and the model tiers it maps onto."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Complexity(IntEnum):
    TRIVIAL = 0
    SIMPLE = 1
    MODERATE = 2
    COMPLEX = 3
    EXPERT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Complexity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(c.label for c in cls)
            raise ValueError(f"unknown complexity {text!r}; expected one of {names}") from None


class Tier(IntEnum):
    NANO = 0
    MICRO = 1
    SMALL = 2
    MEDIUM = 3
    LARGE = 4

    @property
    def spec(self) -> TierSpec:
        return TIER_SPECS[self]

    @property
    def display(self) -> str:
        """'NANO (0.5B)', as the routing table writes it."""
        return f"{self.name} ({self.spec.params_label})"

    @classmethod
    def parse(cls, text: str) -> Tier:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(t.name.lower() for t in cls)
            raise ValueError(f"unknown tier {text!r}; expected one of {names}") from None


@dataclass(frozen=True, kw_only=True)
class TierSpec:
    """What a tier's reference model is, and the shape that decides its memory use."""

    params_label: str
    model_name: str
    repo_id: str
    filename: str
    n_layers: int
    n_kv_heads: int
    head_dim: int
    approx_file_bytes: int

    def kv_cache_bytes(self, n_ctx: int) -> int:
        # K and V, f16 (2 bytes) per element, for every layer and context position.
        return 2 * 2 * self.n_layers * self.n_kv_heads * self.head_dim * n_ctx


_GB = 1_000_000_000

# Shapes from the Qwen2.5 config.json files; sizes of the Q4_K_M GGUFs rounded up. The larger
# GGUFs are split: their file is the first part. Qwen names every repository and file alike.
# tier, parameters, split, layers, KV heads, head width, GB
_QWEN25: tuple[tuple[Tier, str, str, int, int, int, float], ...] = (
    (Tier.NANO, "0.5B", "", 24, 2, 64, 0.50),
    (Tier.MICRO, "1.5B", "", 28, 2, 128, 1.12),
    (Tier.SMALL, "3B", "", 36, 2, 128, 2.11),
    (Tier.MEDIUM, "7B", "-00001-of-00002", 28, 4, 128, 4.69),
    (Tier.LARGE, "14B", "-00001-of-00003", 48, 8, 128, 8.99),
)
TIER_SPECS: dict[Tier, TierSpec] = {
    tier: TierSpec(
        params_label=label,
        model_name=f"qwen2.5-{label.lower()}-instruct",
        repo_id=f"Qwen/Qwen2.5-{label}-Instruct-GGUF",
        filename=f"qwen2.5-{label.lower()}-instruct-q4_k_m{split}.gguf",
        n_layers=layers,
        n_kv_heads=kv_heads,
        head_dim=head_dim,
        approx_file_bytes=int(gb * _GB),
    )
    for tier, label, split, layers, kv_heads, head_dim, gb in _QWEN25
}

# The routing table of the original design; LARGE is reached only by the selector's upgrade
# of EXPERT prompts when a 14B model is installed and fits.
TIER_FOR_COMPLEXITY: dict[Complexity, Tier] = {
    Complexity.TRIVIAL: Tier.NANO,
    Complexity.SIMPLE: Tier.NANO,
    Complexity.MODERATE: Tier.MICRO,
    Complexity.COMPLEX: Tier.SMALL,
    Complexity.EXPERT: Tier.MEDIUM,
}

# Speculative decoding: the smaller tiers that draft for a larger one, preferred first. The
# Qwen2.5 tiers share one tokenizer; NANO costs a third of MICRO a drafted token.
DRAFT_TIERS: dict[Tier, tuple[Tier, ...]] = {
    Tier.MEDIUM: (Tier.NANO,),
    Tier.LARGE: (Tier.NANO, Tier.MICRO),
}
