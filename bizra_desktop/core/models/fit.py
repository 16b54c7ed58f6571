"""Will a model run on this machine? fits / tight / won't fit, before anyone downloads 9 GB."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bizra_desktop.core import placement
from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.tiers import Tier

# Above this share of the budget a model runs, but other programs feel it and a longer
# context may tip it over: worth a warning before a long download.
TIGHT_SHARE = 0.70


class Fit(StrEnum):
    FITS = "fits"
    TIGHT = "tight"
    WONT_FIT = "won't fit"


@dataclass(frozen=True)
class FitEstimate:
    fit: Fit
    needed: int  # bytes: weights, KV cache for the context, compute buffers
    budget: int  # bytes the selector allows a model on this machine (placement.budget)

    def describe(self) -> str:
        return f"{self.fit} (needs {self.needed / 1e9:.1f} of {self.budget / 1e9:.1f} GB)"


def needed_for(tier: Tier, size: int, n_ctx: int) -> int:
    """Memory a not-yet-installed model of `size` bytes would need, with the tier's shape."""
    return placement.memory_needed(size, tier.spec.kv_cache_bytes(n_ctx))


def estimate(needed: int, memory: MemoryBudget) -> FitEstimate:
    # The selector never picks a model beyond this budget: "won't fit" means it will not run.
    allowed = placement.budget(memory)
    if needed > allowed:
        return FitEstimate(Fit.WONT_FIT, needed, allowed)
    if needed > allowed * TIGHT_SHARE:
        return FitEstimate(Fit.TIGHT, needed, allowed)
    return FitEstimate(Fit.FITS, needed, allowed)
