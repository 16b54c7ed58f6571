"""Rates how hard a prompt is, so that the selector can send it to a model big enough for it.

The rating comes from a learned model (`core/routing/`): a linear model over language-free
structure (numbers, code, lists, constraints, length of the ask and of pasted material), a
multilingual table of task concepts, and hashed words, trained on about 22,000 public,
translated and hand-written prompts labelled by the rubric in docs/ROUTING.md. The level is
chosen by expected cost, since a hard prompt sent to the 0.5B model fails outright while an
easy one sent to the 7B model only costs time; the user's quality ↔ speed preference moves
that trade-off. No model call, no network, about a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.routing.rater import Rater
from bizra_desktop.core.tiers import Complexity


@dataclass(frozen=True)
class Analysis:
    """A prompt's rating and why."""

    complexity: Complexity
    score: float  # the continuous difficulty behind the rating: 0 trivial … 4 expert
    reasons: tuple[str, ...]  # what decided it, most decisive first; confidence last
    confidence: float = 1.0  # the chance that the level is right, by the model's spread
    language: str = "en"  # ISO 639-1, guessed from the script and the task words
    preference: Preference = Preference.BALANCED


class TaskAnalyzer:
    """Rates a prompt's complexity from its text alone; deterministic, never raises."""

    def __init__(self, rater: Rater | None = None) -> None:
        self.rater = rater or Rater()

    def analyze(self, prompt: str, preference: Preference = Preference.BALANCED) -> Analysis:
        rating = self.rater.rate(prompt, preference)
        return Analysis(
            complexity=rating.complexity,
            score=rating.score,
            reasons=rating.reasons,
            confidence=rating.confidence,
            language=rating.language,
            preference=preference,
        )


_SHARED: TaskAnalyzer | None = None


def analyze(prompt: str, preference: Preference = Preference.BALANCED) -> Analysis:
    """Rates `prompt` with a shared analyzer (the weights are read on first use)."""
    global _SHARED  # noqa: PLW0603 - one lazily built analyzer per process
    if _SHARED is None:
        _SHARED = TaskAnalyzer()
    return _SHARED.analyze(prompt, preference)
