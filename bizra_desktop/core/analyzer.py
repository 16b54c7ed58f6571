"""Rates how hard a prompt is, so that the selector can send it to a model big enough for it.

The rating comes from a learned model (`core/routing/`): boosted trees (an ordinal model) over
language-free structure (numbers, code, lists, constraints, length of the ask and of pasted
material) and a multilingual table of task concepts, plus linear weights of hashed words,
trained on about 22,000 public, translated and hand-written prompts labelled by the rubric in
docs/ROUTING.md. The level is chosen by expected cost, since a hard prompt sent to the 0.5B
model fails outright while an easy one sent to the 7B model only costs time; the user's quality
↔ speed preference moves that trade-off. No model call, no network, about a millisecond.
"""

from __future__ import annotations

from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.routing.rater import Analysis, Rater

__all__ = ["Analysis", "TaskAnalyzer", "analyze"]


class TaskAnalyzer:
    """Rates a prompt's complexity from its text alone; deterministic, never raises."""

    def __init__(self, rater: Rater | None = None) -> None:
        self.rater = rater or Rater()

    def analyze(self, prompt: str, preference: Preference = Preference.BALANCED) -> Analysis:
        return self.rater.rate(prompt, preference)


_SHARED: TaskAnalyzer | None = None


def analyze(prompt: str, preference: Preference = Preference.BALANCED) -> Analysis:
    """Rates `prompt` with a shared analyzer (the weights are read on first use)."""
    global _SHARED  # noqa: PLW0603 - one lazily built analyzer per process
    if _SHARED is None:
        _SHARED = TaskAnalyzer()
    return _SHARED.analyze(prompt, preference)
