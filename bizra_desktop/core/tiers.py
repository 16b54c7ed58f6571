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

# Shapes from the Qwen2.5 config.json files; sizes of the Q4_K_M GGUFs rounded up.
TIER_SPECS: dict[Tier, TierSpec] = {
    Tier.NANO: TierSpec(
        params_label="0.5B",
        model_name="qwen2.5-0.5b-instruct",
        repo_id="Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        filename="qwen2.5-0.5b-instruct-q4_k_m.gguf",
        n_layers=24,
        n_kv_heads=2,
        head_dim=64,
        approx_file_bytes=int(0.50 * _GB),
    ),
    Tier.MICRO: TierSpec(
        params_label="1.5B",
        model_name="qwen2.5-1.5b-instruct",
        repo_id="Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        filename="qwen2.5-1.5b-instruct-q4_k_m.gguf",
        n_layers=28,
        n_kv_heads=2,
        head_dim=128,
        approx_file_bytes=int(1.12 * _GB),
    ),
    Tier.SMALL: TierSpec(
        params_label="3B",
        model_name="qwen2.5-3b-instruct",
        repo_id="Qwen/Qwen2.5-3B-Instruct-GGUF",
        filename="qwen2.5-3b-instruct-q4_k_m.gguf",
        n_layers=36,
        n_kv_heads=2,
        head_dim=128,
        approx_file_bytes=int(2.11 * _GB),
    ),
    Tier.MEDIUM: TierSpec(
        params_label="7B",
        model_name="qwen2.5-7b-instruct",
        repo_id="Qwen/Qwen2.5-7B-Instruct-GGUF",
        filename="qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
        n_layers=28,
        n_kv_heads=4,
        head_dim=128,
        approx_file_bytes=int(4.69 * _GB),
    ),
    Tier.LARGE: TierSpec(
        params_label="14B",
        model_name="qwen2.5-14b-instruct",
        repo_id="Qwen/Qwen2.5-14B-Instruct-GGUF",
        filename="qwen2.5-14b-instruct-q4_k_m-00001-of-00003.gguf",
        n_layers=48,
        n_kv_heads=8,
        head_dim=128,
        approx_file_bytes=int(8.99 * _GB),
    ),
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
