"""Our decode loop (engine/decode.py) against llama-cpp-python's `Llama.generate` on the real
starter model: the same tokens and the same KV cache after every turn of a conversation that
grows (its prefix reused), starts over, repeats a prompt whole, and passes 256 cells."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from itertools import islice
from typing import Any

import pytest

from bizra_desktop.core.engine.decode import Decoder
from bizra_desktop.core.engine.protocol import GenerationDone, LoadSpec, SamplingParams, TokenText
from bizra_desktop.core.engine.runner import LlamaRunner
from bizra_desktop.core.engine.sampler import Sampler
from tests.helpers import starter_path

pytestmark = pytest.mark.model

ANSWER_TOKENS = 40
PARAMS = (
    SamplingParams(temperature=0.0),
    SamplingParams(temperature=0.0, repeat_penalty=1.3),
    SamplingParams(temperature=0.8, seed=7),
)


@pytest.fixture(scope="module")
def llamas() -> Iterator[tuple[Any, Any]]:
    """Two contexts on the starter model: one driven by Llama.generate, one by our loop."""
    import llama_cpp  # noqa: PLC0415 - the host process's library

    def load() -> Any:
        return llama_cpp.Llama(
            str(starter_path()), n_ctx=1024, n_threads=2, flash_attn=True, verbose=False
        )

    reference, ours = load(), load()
    yield reference, ours
    reference.close()
    ours.close()


def _chain(llama: Any, params: SamplingParams) -> Any:
    """llama-cpp-python's own sampler chain for `params`, as Llama.generate builds it."""
    if params.seed is not None:
        llama.set_seed(params.seed)
    return llama._init_sampler(
        top_k=params.top_k,
        top_p=params.top_p,
        min_p=params.min_p,
        temp=params.temperature,
        repeat_penalty=params.repeat_penalty,
    )


def _reference(llama: Any, prompt: list[int], params: SamplingParams) -> list[int]:
    if params.seed is not None:
        llama.set_seed(params.seed)
    generation = llama.generate(
        prompt,
        top_k=params.top_k,
        top_p=params.top_p,
        min_p=params.min_p,
        temp=params.temperature,
        repeat_penalty=params.repeat_penalty,
    )
    return list(islice(generation, ANSWER_TOKENS))


def _ours(llama: Any, prompt: list[int], params: SamplingParams, own: bool) -> list[int]:
    import llama_cpp  # noqa: PLC0415

    sampler = Sampler(llama_cpp, llama, params) if own else _chain(llama, params)
    tokens = Decoder(llama_cpp, llama).tokens(
        prompt, partial(sampler.sample, llama._ctx), ANSWER_TOKENS
    )
    return list(islice(tokens, ANSWER_TOKENS))


def _conversation(llama: Any) -> Iterator[list[int]]:
    """Prompts in the order the test sends them; each may extend the last prompt and answer
    (`llama.input_ids[:n_tokens]` is what the KV cache holds after the last answer)."""
    tokenize = partial(llama.tokenize, add_bos=False)
    yield llama.tokenize(b"Write a short poem about the sea.")
    held = llama.input_ids[: llama.n_tokens].tolist()
    yield [*held, *tokenize(b" Now one about the mountains, please.")]
    held = llama.input_ids[: llama.n_tokens].tolist()
    # Past 256 cells, where a batch's attention sums in other chunks than one token's.
    yield [*held, *tokenize(b" Tell me about rivers, lakes and the rain. " * 12)]
    yield llama.tokenize(b"List three colours.")  # nothing shared: starts over
    # The whole prompt cached, the last answer's logits live: nothing to decode.
    yield llama.input_ids[: llama.n_tokens].tolist()


@pytest.mark.parametrize("own", [False, True], ids=["their-sampler", "our-sampler"])
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"t{p.temperature}-rp{p.repeat_penalty}")
def test_our_loop_gives_llama_generates_tokens_and_cache_turn_after_turn(
    llamas: tuple[Any, Any], params: SamplingParams, own: bool
) -> None:
    reference, ours = llamas
    reference.reset()
    ours.reset()
    turns = zip(_conversation(reference), _conversation(ours), strict=True)
    for turn, (their_prompt, our_prompt) in enumerate(turns):
        assert our_prompt == their_prompt
        expected = _reference(reference, their_prompt, params)
        assert _ours(ours, our_prompt, params, own) == expected, f"turn {turn}"
        assert ours.n_tokens == reference.n_tokens
        held = ours.input_ids[: ours.n_tokens].tolist()
        assert held == reference.input_ids[: reference.n_tokens].tolist()
    assert held[: len(our_prompt)] == our_prompt


def test_a_prompt_that_continues_the_conversation_decodes_only_its_new_tokens(
    llamas: tuple[Any, Any],
) -> None:
    import llama_cpp  # noqa: PLC0415

    _, llama = llamas
    llama.reset()
    decoder = Decoder(llama_cpp, llama)
    first = llama.tokenize(b"Name a large city.")
    assert decoder.prompt(first) == 0
    longer = [*first, *llama.tokenize(b" And a small town.", add_bos=False)]
    assert decoder.prompt(longer) == len(first)
    assert decoder.cached() == longer
    # A prompt that differs inside the cached part keeps only what comes before the change.
    changed = [*first[:3], 11, *first[4:]]
    assert decoder.prompt(changed) == 3
    assert decoder.cached() == changed
    # The same prompt again, its last logits live: nothing decodes, all of it is cached.
    assert decoder.prompt(changed) == len(changed) == decoder.from_cache
    assert decoder.cached() == changed


def test_the_runner_stops_at_the_budget_and_its_answer_is_the_same_on_a_reused_cache() -> None:
    runner = LlamaRunner()
    runner.ensure_loaded(
        LoadSpec(model_path=str(starter_path()), n_ctx=1024, n_threads=2, n_gpu_layers=0)
    )
    try:
        messages = [{"role": "user", "content": "Say something about the weather."}]

        def answer(max_tokens: int) -> tuple[str, int, GenerationDone]:
            params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
            events = list(runner.stream(messages, params, lambda: False))
            done = events[-1]
            assert isinstance(done, GenerationDone)
            text = "".join(event.text for event in events if isinstance(event, TokenText))
            tokens = sum(event.tokens for event in events if isinstance(event, TokenText))
            return text, tokens, done

        first, tokens, done = answer(24)
        assert tokens == 24 and first.strip() and done.cached_tokens == 0
        # The same prompt again, its prefix from the cache: all but its last token, which
        # decodes again after the first answer's tokens for fresh logits.
        text, tokens, done = answer(24)
        assert (text, tokens) == (first, 24)
        assert done.cached_tokens == done.prompt_tokens - 1
        # A one-token answer never decodes its token, so the cache then holds the prompt alone
        # with its logits live: the same prompt once more decodes nothing, all of it cached.
        answer(1)
        text, tokens, done = answer(1)
        assert tokens == 1 and first.startswith(text)
        assert done.cached_tokens == done.prompt_tokens
    finally:
        runner.unload()
