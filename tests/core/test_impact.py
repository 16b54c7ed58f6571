"""The impact score: the design's worked example, its bounds, clamping and monotonicity."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bizra_desktop.core.impact import impact_score
from bizra_desktop.core.tiers import Complexity


def test_worked_example_from_the_design() -> None:
    score = impact_score(Complexity.SIMPLE, 8.46, 80)

    assert score == 0.3498
    assert round(score, 2) == 0.35


@pytest.mark.parametrize(
    ("complexity", "floor"),
    [
        (Complexity.TRIVIAL, 0.1),
        (Complexity.SIMPLE, 0.3),
        (Complexity.MODERATE, 0.4),
        (Complexity.COMPLEX, 0.55),
        (Complexity.EXPERT, 0.7),
    ],
)
def test_base_is_the_score_of_an_empty_answer(complexity: Complexity, floor: float) -> None:
    assert impact_score(complexity, 0.0, 0) == floor


def test_speed_and_length_saturate() -> None:
    assert impact_score(Complexity.EXPERT, 50.0, 500) == 1.0
    assert impact_score(Complexity.EXPERT, 5000.0, 100_000) == 1.0
    assert impact_score(Complexity.EXPERT, math.inf, 500) == 1.0


@pytest.mark.parametrize("bad", [-3.0, math.nan, -math.inf])
def test_bad_rates_are_clamped_to_zero(bad: float) -> None:
    assert impact_score(Complexity.MODERATE, bad, 0) == 0.4


def test_negative_token_counts_are_clamped_to_zero() -> None:
    assert impact_score(Complexity.COMPLEX, 0.0, -40) == 0.55


_rates = st.floats(min_value=0, max_value=200, allow_nan=False)
_token_counts = st.integers(min_value=0, max_value=2000)


@given(st.sampled_from(Complexity), _rates, _rates, _token_counts, _token_counts)
def test_monotonic_in_speed_and_length(
    complexity: Complexity, rate_a: float, rate_b: float, tokens_a: int, tokens_b: int
) -> None:
    slow, fast = sorted((rate_a, rate_b))
    short, long = sorted((tokens_a, tokens_b))

    assert impact_score(complexity, slow, short) <= impact_score(complexity, fast, short)
    assert impact_score(complexity, slow, short) <= impact_score(complexity, slow, long)


@given(
    st.sampled_from(Complexity),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**9), max_value=10**9),
)
def test_always_between_one_tenth_and_one(
    complexity: Complexity, tokens_per_s: float, completion_tokens: int
) -> None:
    score = impact_score(complexity, tokens_per_s, completion_tokens)

    assert 0.1 <= score <= 1.0
    assert score == round(score, 4)
