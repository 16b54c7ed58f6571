"""Awkward prompts through the real pipeline: each has one defined outcome — answered (the text
the model saw and the receipt commits to is stated), or refused with a one-line reason and no
receipt. How the window shows markup: tests/ui/test_main_window.py."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing

import pytest

from bizra_desktop.core.engine.protocol import FailureKind, SamplingParams
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Failed, Finished, Pipeline, RunOptions
from bizra_desktop.core.receipts.commitments import commit
from tests.helpers import RecordProperty

pytestmark = pytest.mark.model

OPTIONS = RunOptions(params=SamplingParams(temperature=0.0, max_tokens=8, seed=7))
AREA = "Prompt edge cases"
MARKUP = "<script>alert(1)</script><b>x</b> <img src=x onerror=alert(2)>"
MEGABYTE = ("The quick brown fox jumps over the lazy dog. " * 22_223)[:1_000_000]
EMPTY = "the prompt is empty"

# case, prompt, what the model is given and the receipt commits to (None: refused)
ANSWERED = [
    ("NUL bytes inside the text", "Say\x00 hi to me\x00!", "Say hi to me!"),
    ("lone surrogates", "Say hi \ud800 and \udfff!", "Say hi ? and ?!"),
    ("mixed right-to-left text and emoji", "Say hi: مرحبا שלום 👋🏽 ok?", None),
    ("markup that looks like HTML", MARKUP, None),
]
REFUSED = [
    ("an empty prompt", ""),
    ("a whitespace-only prompt", "   \n\t \u3000"),
    ("a prompt of NUL bytes only", "\x00\x00"),
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    instance = Pipeline(DataPaths(tmp_path_factory.mktemp("inputs-home")))
    yield instance
    instance.close()


def _salt(pipeline: Pipeline, receipt_hash: str) -> bytes:
    with closing(sqlite3.connect(pipeline.paths.database)) as db:
        (salt,) = db.execute(
            "SELECT salt FROM commitment_salts WHERE receipt_hash = ?", (receipt_hash,)
        ).fetchone()
    return bytes(salt)


@pytest.mark.reliability(
    area=AREA,
    case="empty, whitespace-only or NUL-only prompts",
    done="'', spaces/newline/tab/ideographic space, two NUL bytes through Pipeline.run",
)
@pytest.mark.parametrize(("case", "prompt"), REFUSED, ids=[case for case, _ in REFUSED])
def test_empty_prompts_are_refused(
    pipeline: Pipeline, case: str, prompt: str, record_property: RecordProperty
) -> None:
    before = len(pipeline.chain)
    events = list(pipeline.run(prompt, OPTIONS))
    assert events == [Failed("bad_input", EMPTY)]
    assert len(pipeline.chain) == before
    record_property("result", f"{case}: refused ({EMPTY!r}), no receipt")


@pytest.mark.reliability(
    area=AREA, case="a 1 MB paste", done="1,000,000 characters through the pipeline"
)
def test_a_megabyte_paste_is_refused_with_its_size(
    pipeline: Pipeline, record_property: RecordProperty
) -> None:
    before = len(pipeline.chain)
    started = time.monotonic()
    outcome = list(pipeline.run(MEGABYTE, OPTIONS))[-1]
    elapsed = time.monotonic() - started
    assert isinstance(outcome, Failed) and outcome.kind is FailureKind.CONTEXT_OVERFLOW
    assert "the prompt is 222,2" in outcome.message and "shorten it by about" in outcome.message
    assert "\n" not in outcome.message and elapsed < 30
    assert len(pipeline.chain) == before
    record_property("result", f"refused in {elapsed:.1f} s: {outcome.message}")


@pytest.mark.reliability(
    area=AREA,
    case="NUL bytes, lone surrogates, right-to-left text and emoji, HTML-like markup",
    done="each answered by the real starter model; the receipt's prompt commitment checked",
)
@pytest.mark.parametrize(
    ("case", "prompt", "seen"), ANSWERED, ids=[case for case, _, _ in ANSWERED]
)
def test_awkward_text_is_answered_and_committed_as_the_model_saw_it(
    pipeline: Pipeline,
    case: str,
    prompt: str,
    seen: str | None,
    record_property: RecordProperty,
) -> None:
    outcome = list(pipeline.run(prompt, OPTIONS))[-1]
    assert isinstance(outcome, Finished), outcome
    assert outcome.stats.completion_tokens > 0
    salt = _salt(pipeline, outcome.receipt.hash)
    assert outcome.receipt.body["prompt_commitment"] == commit(seen or prompt, salt)
    assert pipeline.chain.verify().ok
    record_property(
        "result",
        f"{case}: answered ({outcome.stats.completion_tokens} tokens), committed as "
        f"{'the text itself' if seen is None else repr(seen)}",
    )
