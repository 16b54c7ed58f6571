"""The impact score recorded in every receipt: how much work an answer represents, 0.1 to 1.0."""

from __future__ import annotations

from bizra_desktop.core.tiers import Complexity

# The task's difficulty dominates; speed and length can add at most 0.3 between them, so an
# expert answer always outscores a trivial one.
_BASE: dict[Complexity, float] = {
    Complexity.TRIVIAL: 0.1,
    Complexity.SIMPLE: 0.3,
    Complexity.MODERATE: 0.4,
    Complexity.COMPLEX: 0.55,
    Complexity.EXPERT: 0.7,
}
_SPEED_WEIGHT = 0.2
_SPEED_FULL_TOKENS_PER_S = 50.0
_LENGTH_WEIGHT = 0.1
_LENGTH_FULL_TOKENS = 500.0


def impact_score(complexity: Complexity, tokens_per_s: float, completion_tokens: int) -> float:
    """base(complexity) + min(tok/s / 50, 1)·0.2 + min(tokens / 500, 1)·0.1, to 4 decimals.

    A simple task at 8.46 tok/s and 80 tokens: 0.3 + 0.0338 + 0.016 = 0.3498.
    """
    speed = min(_non_negative(tokens_per_s) / _SPEED_FULL_TOKENS_PER_S, 1.0)
    length = min(_non_negative(completion_tokens) / _LENGTH_FULL_TOKENS, 1.0)
    return round(_BASE[complexity] + speed * _SPEED_WEIGHT + length * _LENGTH_WEIGHT, 4)


def _non_negative(value: float) -> float:
    # A failed or cancelled generation can report NaN or a negative rate; it earns nothing for it.
    # NaN compares false, so it lands on 0 too.
    return value if value > 0 else 0.0
