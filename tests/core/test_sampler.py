"""Our sampler chain against llama-cpp-python's own on the real starter model: the same tokens,
greedy and seeded, with and without a repetition penalty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bizra_desktop.core.engine.protocol import LoadSpec, SamplingParams, TokenText
from bizra_desktop.core.engine.runner import LlamaRunner
from tests.helpers import starter_path

pytestmark = pytest.mark.model

PROMPTS = ("Write a poem about rain.", "Repeat the word cat many times.")
PARAMS = (
    SamplingParams(temperature=0.0, repeat_penalty=1.1, max_tokens=96),
    SamplingParams(temperature=0.0, repeat_penalty=1.5, max_tokens=96),
    SamplingParams(temperature=0.7, repeat_penalty=1.1, seed=5, max_tokens=96),
    SamplingParams(temperature=1.0, repeat_penalty=1.3, top_k=100, seed=11, max_tokens=96),
    SamplingParams(temperature=0.8, repeat_penalty=1.0, seed=3, max_tokens=96),
)


def _runner(own_sampler: bool) -> Iterator[LlamaRunner]:
    runner = LlamaRunner(own_sampler)
    runner.ensure_loaded(
        LoadSpec(model_path=str(starter_path()), n_ctx=2048, n_threads=2, n_gpu_layers=0)
    )
    yield runner
    runner.unload()


@pytest.fixture(scope="module")
def ours() -> Iterator[LlamaRunner]:
    yield from _runner(own_sampler=True)


@pytest.fixture(scope="module")
def reference() -> Iterator[LlamaRunner]:
    yield from _runner(own_sampler=False)


def _answer(runner: LlamaRunner, prompt: str, params: SamplingParams) -> str:
    events = runner.stream([{"role": "user", "content": prompt}], params, lambda: False)
    return "".join(event.text for event in events if isinstance(event, TokenText))


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"t{p.temperature}-rp{p.repeat_penalty}")
@pytest.mark.parametrize("prompt", PROMPTS)
def test_our_sampler_picks_the_tokens_llama_cpp_python_picks(
    ours: LlamaRunner, reference: LlamaRunner, prompt: str, params: SamplingParams
) -> None:
    answer = _answer(ours, prompt, params)
    assert answer.strip()
    assert answer == _answer(reference, prompt, params)


def test_the_penalty_changes_the_answer(ours: LlamaRunner) -> None:
    # The comparison above would hold trivially if our penalty did nothing.
    def greedy(penalty: float) -> str:
        params = SamplingParams(temperature=0.0, repeat_penalty=penalty, max_tokens=96)
        return _answer(ours, "Repeat the word cat many times.", params)

    assert greedy(1.0) != greedy(1.5)
