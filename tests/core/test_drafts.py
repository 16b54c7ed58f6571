"""Speculative decoding on the real starter model: prompt lookup and a draft model change no
token (greedy, and seeded sampling); the host keeps recently used models loaded within the
memory it is given."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bizra_desktop.core.engine.drafts import ModelDrafter, PromptLookup
from bizra_desktop.core.engine.protocol import (
    GenerationDone,
    LoadSpec,
    SamplingParams,
    TokenText,
)
from bizra_desktop.core.engine.runner import LlamaRunner
from tests.helpers import starter_path

pytestmark = pytest.mark.model

MIB = 1024 * 1024
# Prompts whose answers repeat what they quote. Prompt and answer stay under 256 positions:
# there llama.cpp's batched logits are bit-identical to one-at-a-time decoding (drafts.py).
REWRITES = (
    "Correct the spelling in this list and return the list:\n\n- Buy milk and bred\n"
    "- Call the plumbr about the kitchen sink\n- Send the invoice to the acounting team\n"
    "- Book a table for dinner on Friday",
    "Correct the grammar in this email and return the corrected email:\n\nHello Maria,\n\n"
    "Thank you for you message. I has looked at the report and I think it need some changes "
    "before we sends it to the client. Can we meet tomorrow at ten to discuss it?\n\n"
    "Best regards,\nJohn",
    "Fix the spelling mistakes in this text and return the corrected text:\n\nThe quick brown "
    "fox jumpd over the lazy dog. It was a sunny day and the fox was very hapy.",
    "Convert this list into a Markdown table with columns Name and Age:\n\nAlice, 34\n"
    "Bob, 27\nCarol, 45\nDave, 31",
)
GREEDY = SamplingParams(temperature=0.0, max_tokens=120)
SEEDED = SamplingParams(temperature=0.8, seed=5, max_tokens=120)


def _spec(path: Path, memory_needed: int = 0) -> LoadSpec:
    return LoadSpec(
        model_path=str(path), n_ctx=1024, n_threads=2, n_gpu_layers=0, memory_needed=memory_needed
    )


@pytest.fixture
def runners() -> Iterator[list[LlamaRunner]]:
    """Runners closed at the end of a test, each its own models and KV cache: a drafting run
    and a plain one are compared from the same cache state."""
    made: list[LlamaRunner] = []
    yield made
    for runner in made:
        runner.unload()


def _runner(
    runners: list[LlamaRunner], spec: LoadSpec, draft: LoadSpec | None = None
) -> LlamaRunner:
    runner = LlamaRunner()
    runner.ensure_loaded(spec, draft)
    runners.append(runner)
    return runner


def _answer(
    runner: LlamaRunner, prompt: str, params: SamplingParams, prompt_lookup: bool = False
) -> tuple[str, GenerationDone]:
    text = []
    for event in runner.stream(
        [{"role": "user", "content": prompt}], params, lambda: False, prompt_lookup
    ):
        if isinstance(event, TokenText):
            text.append(event.text)
        elif isinstance(event, GenerationDone):
            done = event
    return "".join(text), done


def _same_answers(
    plain: LlamaRunner, drafting: LlamaRunner, params: SamplingParams, prompt_lookup: bool
) -> tuple[int, int]:
    """Each prompt answered by both, token for token alike; the drafted and accepted totals."""
    drafted = accepted = 0
    for prompt in REWRITES:
        expected, plain_done = _answer(plain, prompt, params)
        answer, done = _answer(drafting, prompt, params, prompt_lookup)
        assert answer == expected
        assert done.completion_tokens == plain_done.completion_tokens
        assert plain_done.drafting == ()
        drafted += sum(stats.drafted for stats in done.drafting)
        accepted += sum(stats.accepted for stats in done.drafting)
    return drafted, accepted


def test_prompt_lookup_answers_rewrites_token_for_token_as_plain_decoding(
    runners: list[LlamaRunner],
) -> None:
    spec = _spec(starter_path())
    drafted, accepted = _same_answers(_runner(runners, spec), _runner(runners, spec), GREEDY, True)
    # Not vacuous: the drafts were checked, and most were right.
    assert drafted >= 20 and accepted / drafted > 0.5


def test_the_starter_drafting_for_itself_changes_no_token(runners: list[LlamaRunner]) -> None:
    spec = _spec(starter_path())
    drafted, _ = _same_answers(
        _runner(runners, spec), _runner(runners, spec, draft=spec), GREEDY, False
    )
    # Checked, then given up: on two CPU cores a draft from the model itself costs more than
    # it saves, and the policy measures that (drafts.py).
    assert drafted > 0


def test_a_draft_model_keeps_its_cache_in_step_with_the_context() -> None:
    """Drafts from a drafter that follows a context as it grows, falls back and diverges are
    the drafts of one that decodes each context from scratch."""
    import llama_cpp  # noqa: PLC0415 - the host process's library

    def fresh() -> llama_cpp.Llama:
        return llama_cpp.Llama(str(starter_path()), n_ctx=512, n_threads=2, verbose=False)

    following, scratch = fresh(), fresh()
    try:
        prompt = following.tokenize(b"The history of the printing press begins", add_bos=False)
        first = ModelDrafter(following, "starter").draft(prompt, 8)
        assert len(first) >= 2
        contexts = [
            [*prompt, *first],  # all accepted
            [*prompt, *first[:1], 11],  # a miss after one accepted token
            [*prompt, *first[:1], 11, 12, 13],
            [*prompt, 42],  # a miss at the first token
        ]
        drafter = ModelDrafter(following, "starter")
        for context in contexts:
            scratch.reset()
            assert drafter.draft(context, 6) == ModelDrafter(scratch, "starter").draft(context, 6)
    finally:
        following.close()
        scratch.close()


def test_a_copy_of_the_starter_drafts_and_seeded_sampling_stays_the_same(
    runners: list[LlamaRunner], tmp_path: Path
) -> None:
    copy = tmp_path / "draft-copy.gguf"
    shutil.copyfile(starter_path(), copy)
    spec = _spec(starter_path())
    plain, drafting = _runner(runners, spec), _runner(runners, spec, draft=_spec(copy))
    drafted, _ = _same_answers(plain, drafting, GREEDY, False)
    assert drafted > 0
    # Sampling draws the same random numbers at the same positions: the same answer.
    drafted, _ = _same_answers(plain, drafting, SEEDED, True)
    assert drafted > 0
    _, done = _answer(drafting, REWRITES[0], GREEDY, True)
    assert [(stats.method, stats.model) for stats in done.drafting] == [
        ("prompt_lookup", None),
        ("draft_model", "draft-copy.gguf"),
    ]


def test_a_draft_model_with_another_vocabulary_is_left_out_with_a_note(
    runners: list[LlamaRunner], gemma: Path
) -> None:
    spec = _spec(starter_path())
    plain, drafting = _runner(runners, spec), _runner(runners, spec, draft=_spec(gemma))
    expected, _ = _answer(plain, REWRITES[0], GREEDY)
    answer, done = _answer(drafting, REWRITES[0], GREEDY)
    assert answer == expected
    assert done.drafting == ()
    assert done.note is not None and done.note.startswith(f"no drafting: {gemma.name} its ")


def test_prompt_lookup_drafts_what_followed_the_latest_occurrence() -> None:
    lookup = PromptLookup()
    #          0  1  2  3  4  5  6  7  8  9
    context = [5, 6, 7, 8, 9, 5, 6, 7, 1, 2, 5, 6, 7]
    # The tail (5, 6, 7) occurred at 0 and at 5; the latest is followed by 1, 2, 5.
    assert lookup.draft(context, 3) == [1, 2, 5]
    assert lookup.draft([*context, 1], 10) == [2, 5, 6, 7, 1]  # up to the end, not past it
    assert PromptLookup().draft([1, 2, 3, 4], 4) == []  # nothing repeats


def test_switching_back_to_a_loaded_model_reuses_it_and_memory_pressure_evicts(
    tmp_path: Path,
) -> None:
    a, b, c = starter_path(), tmp_path / "b.gguf", tmp_path / "c.gguf"
    shutil.copyfile(a, b)
    shutil.copyfile(a, c)
    runner = LlamaRunner()
    try:
        roomy = 1000 * MIB

        def load(path: Path, allowed: int | None) -> bool:
            loaded = runner.ensure_loaded(_spec(path, 100 * MIB), memory_allowed=allowed)
            assert (loaded.load_ms == 0) == loaded.reused
            return loaded.reused

        assert not load(a, roomy)
        assert not load(b, roomy)
        assert load(a, roomy)  # A → B → A: still loaded
        assert load(b, roomy)
        # Room for one more beside C only: the least recently used (A) goes, B stays.
        assert not load(c, 250 * MIB)
        assert load(b, 250 * MIB)
        assert not load(a, 250 * MIB)
        # Without a memory allowance only the model asked for stays loaded.
        assert load(b, None)
        assert not load(a, None)
        assert not load(b, None)
        # The answer comes from the model asked for last.
        text, done = _answer(runner, "Say hello.", GREEDY)
        assert text and done.completion_tokens
    finally:
        runner.unload()


def test_a_replaced_model_file_is_loaded_again(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    shutil.copyfile(starter_path(), path)
    runner = LlamaRunner()
    try:
        assert not runner.ensure_loaded(_spec(path), memory_allowed=1000 * MIB).reused
        assert runner.ensure_loaded(_spec(path), memory_allowed=1000 * MIB).reused
        replacement = tmp_path / "new.gguf"
        shutil.copyfile(starter_path(), replacement)
        replacement.replace(path)
        assert not runner.ensure_loaded(_spec(path), memory_allowed=1000 * MIB).reused
    finally:
        runner.unload()
