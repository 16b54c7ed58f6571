"""A GGUF whose header passes the check but whose tensors are garbage, through the real pipeline
and llama.cpp: it is contained (an answer or a one-line failure, in bounded time, the app's
process untouched) and the next prompt with the sound model answers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.models.gguf import read_header
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Failed, Finished, Pipeline, RunOptions
from tests.gguf_tools import with_tensor_data
from tests.helpers import RecordProperty, starter_path

pytestmark = pytest.mark.model

LIMIT_S = 60.0
# The app's own sampling: over NaN scores its top-k/top-p chain crawled at seconds a token.
PARAMS = SamplingParams(max_tokens=16, seed=7)
# 0xFF bytes are NaN as f16 and f32, and so is every block scale of a quantised tensor.
GARBAGE: dict[str, Callable[[int], bytes]] = {
    "random bytes": random.Random(8).randbytes,
    "NaNs": lambda size: b"\xff" * size,
}


@pytest.mark.reliability(
    area="Hostile model files",
    case="a valid header over garbage tensors",
    done="the starter model's header over random bytes, and over all-NaN tensors, then a "
    "prompt with the sound model",
)
@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_garbage_tensors_behind_a_valid_header_are_contained(
    tmp_path: Path, garbage: str, record_property: RecordProperty
) -> None:
    model = with_tensor_data(starter_path(), tmp_path / "garbage.gguf", GARBAGE[garbage])
    assert read_header(model).tensor_count > 0  # the header check lets it through
    pipeline = Pipeline(DataPaths(tmp_path / "home"))
    try:
        started = time.monotonic()
        events = list(
            pipeline.run("Write a poem about the sea.", RunOptions(model_path=model, params=PARAMS))
        )
        elapsed = time.monotonic() - started
        outcome = events[-1]
        assert elapsed < LIMIT_S
        if isinstance(outcome, Finished):
            assert pipeline.chain.verify().ok  # an answer, however odd, gets its receipt
            result = (
                f"answered in {elapsed:.1f} s with {outcome.stats.completion_tokens} tokens "
                f"({outcome.text[:40]!r}, finish {outcome.stats.finish_reason.value})"
            )
        else:
            assert isinstance(outcome, Failed), outcome
            assert "\n" not in outcome.message and len(pipeline.chain) == 0
            result = f"failed in {elapsed:.1f} s: {outcome.message}"
        if garbage == "NaNs":  # caught by the one-token probe at load, before any sampling
            assert isinstance(outcome, Failed)
            assert f"{model} gives not-a-number scores" in outcome.message

        sound = list(pipeline.run("What is 2 + 2?", RunOptions(params=PARAMS)))[-1]
        assert isinstance(sound, Finished) and sound.text.strip(), sound
    finally:
        pipeline.close()
    record_property("result", f"{result}; the next prompt answered {sound.text.strip()[:30]!r}")
