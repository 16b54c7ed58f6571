"""The model file deleted or replaced while the inference host has it loaded: every answer's
receipt names the SHA-256 of the file that actually answered, or the answer fails in one line
naming the file. The real host, the real model (copies of it), a real receipt chain."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.pipeline import Failed, Finished, Loaded, Pipeline, RunOptions, Token
from tests.helpers import RecordProperty, starter_path

pytestmark = pytest.mark.model

Outcome = tuple[Loaded | None, Finished | Failed]


def _answer(pipeline: Pipeline, model: Path, during: Callable[[], object] | None = None) -> Outcome:
    """One prompt answered by `model`; `during` runs once the first token has arrived."""
    options = RunOptions(
        model_path=model, params=SamplingParams(max_tokens=8, temperature=0.0, seed=1)
    )
    loaded = None
    for event in pipeline.run("Count from one to twenty.", options):
        if isinstance(event, Loaded):
            loaded = event
        elif isinstance(event, Token) and during is not None:
            during()
            during = None
        elif isinstance(event, Finished | Failed):
            return loaded, event
    raise AssertionError("the pipeline ended without a result")


def _recorded(outcome: Outcome) -> str:
    """The SHA-256 the answer's receipt names."""
    result = outcome[1]
    assert isinstance(result, Finished), result
    return str(result.receipt.body["model"]["sha256"])


def _reloaded(outcome: Outcome) -> bool:
    return outcome[0] is not None and not outcome[0].reused


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _put(path: Path, data: bytes, mtime_of: Path | None = None) -> str:
    """Replace `path` with `data` as an update does (a new file renamed over it), optionally
    keeping another file's mtime (as `cp -p` or rsync do); returns the data's SHA-256."""
    staged = path.with_name(path.name + ".new")
    staged.write_bytes(data)
    if mtime_of is not None:
        kept = mtime_of.stat()
        os.utime(staged, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    os.replace(staged, path)
    return _sha256(data)


def _variant(original: bytes, number: int) -> bytes:
    """The model with one byte of its last tensor changed: same size, same header, still loads."""
    changed = bytearray(original)
    changed[-1 - number] ^= 0x01
    return bytes(changed)


def _one_line_naming(outcome: Outcome, kind: str, model: Path) -> str:
    result = outcome[1]
    assert isinstance(result, Failed), result
    assert result.kind == kind, result
    assert model.name in result.message and "\n" not in result.message, result.message
    return result.message


@pytest.mark.reliability(
    area="Faults",
    case="the model file deleted or replaced while loaded",
    done="12 answers from a model file replaced by a same-size copy (mtime new or kept, before "
    "a prompt and mid-answer), deleted mid-answer and before a prompt, overwritten with garbage "
    "and with another real model (Gemma 3 270M); every receipt checked against the file's bytes",
)
def test_receipts_name_the_model_that_answered(
    record_property: RecordProperty, tmp_path: Path, gemma: Path
) -> None:
    original = starter_path().read_bytes()
    model = tmp_path / "model.gguf"
    first = _put(model, original)
    outcomes: list[Outcome] = []

    def run(pipeline: Pipeline, during: Callable[[], object] | None = None) -> Outcome:
        outcomes.append(_answer(pipeline, model, during))
        return outcomes[-1]

    pipeline = Pipeline(data_paths())
    try:
        assert _recorded(run(pipeline)) == first
        again = run(pipeline)
        assert not _reloaded(again) and _recorded(again) == first  # the host keeps the model

        # Same size, same header: the host's load request is unchanged, yet the file is new.
        second = _put(model, _variant(original, 1))
        replaced = run(pipeline)
        assert _reloaded(replaced) and _recorded(replaced) == second
    finally:
        pipeline.close()

    # Replaced with its mtime kept, then the app restarted: the hash is not taken from the cache.
    third = _put(model, _variant(original, 2), mtime_of=model)
    pipeline = Pipeline(data_paths())
    try:
        assert _recorded(run(pipeline)) == third
        # Replaced mid-answer: the loaded model (the old file, still mapped) answered.
        fourth = _variant(original, 3)
        assert _recorded(run(pipeline, lambda: _put(model, fourth))) == third
        after = run(pipeline)
        assert _reloaded(after) and _recorded(after) == _sha256(fourth)

        # Deleted mid-answer: the mapped file still answers, and its identity is known.
        assert _recorded(run(pipeline, model.unlink)) == _sha256(fourth)
        missing = _one_line_naming(run(pipeline), "bad_input", model)
        assert missing == f"{model}: no such model file"

        model.write_bytes(b"GGUF" + b"\xff" * 64)  # garbage with the magic
        garbage = _one_line_naming(run(pipeline), "bad_input", model)

        gemma_sha = _put(model, gemma.read_bytes())
        other = run(pipeline)
        assert _reloaded(other) and _recorded(other) == gemma_sha

        # A file never hashed before, replaced mid-answer: what answered cannot be known, and
        # the answer gets no receipt rather than one naming the wrong file.
        _put(model, _variant(original, 4))
        unknown = run(pipeline, lambda: _put(model, _variant(original, 5)))
        unknowable = _one_line_naming(unknown, "receipt", model)
        assert "replaced while it was in use" in unknowable
    finally:
        pipeline.close()

    receipts = sum(isinstance(result, Finished) for _, result in outcomes)
    record_property("runs", len(outcomes))
    record_property(
        "result",
        f"{receipts} of {receipts} receipts name the SHA-256 of the file that answered; "
        f"{len(outcomes) - receipts} refused in one line naming the file ({missing!r}; "
        f"{garbage!r}; {unknowable!r})",
    )
