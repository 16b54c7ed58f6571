"""Conversations on real SQLite files: ordering, search, persistence, awkward text, shared file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bizra_desktop.core.conversations import (
    SCHEMA_VERSION,
    Conversation,
    ConversationStore,
    storable,
    title_from_prompt,
)
from bizra_desktop.core.db import open_database
from bizra_desktop.core.receipts.chain import ReceiptChain

# Every code point, lone surrogates included (Hypothesis leaves them out by default).
ANY_TEXT = st.text(st.characters(exclude_categories=()))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bizra.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[ConversationStore]:
    with ConversationStore(db_path) as opened:
        yield opened


def count_rows(db_path: Path, table: str) -> int:
    with closing(sqlite3.connect(db_path)) as conn:
        (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


# --- conversations -----------------------------------------------------------------------------


def test_create_and_get(store: ConversationStore) -> None:
    created = store.create()

    assert created.title == "New chat"
    assert created.created_at == created.updated_at
    assert created.created_at.endswith("Z")
    assert store.get(created.id) == created
    assert store.get(created.id + 1) is None


def test_list_is_newest_activity_first(store: ConversationStore) -> None:
    first, second, third = (store.create(name) for name in ("first", "second", "third"))
    assert [c.id for c in store.list()] == [third.id, second.id, first.id]

    store.add_message(first.id, "user", "back to the first one")
    assert [c.id for c in store.list()] == [first.id, third.id, second.id]

    # Renaming is not activity: the list keeps its order.
    store.rename(second.id, "renamed")
    assert [c.id for c in store.list()] == [first.id, third.id, second.id]


def test_add_message_bumps_updated_at_only(store: ConversationStore) -> None:
    created = store.create("chat")

    message = store.add_message(created.id, "user", "hello")

    after = store.get(created.id)
    assert after is not None
    assert after.created_at == created.created_at
    assert after.updated_at == message.created_at >= created.updated_at


def test_rename_collapses_whitespace_and_refuses_empty(store: ConversationStore) -> None:
    created = store.create("old")

    renamed = store.rename(created.id, "  new \n  title\t")

    assert renamed == Conversation(created.id, "new title", created.created_at, created.updated_at)
    assert store.get(created.id) == renamed
    with pytest.raises(ValueError, match="cannot be empty"):
        store.rename(created.id, " \n\t ")
    with pytest.raises(ValueError, match="cannot be empty"):
        store.create("   ")
    with pytest.raises(LookupError, match="no conversation with id 999"):
        store.rename(999, "ghost")


def test_delete_takes_the_messages_with_it(store: ConversationStore, db_path: Path) -> None:
    doomed, kept = store.create("doomed"), store.create("kept")
    store.add_message(doomed.id, "user", "a")
    store.add_message(doomed.id, "assistant", "b")
    store.add_message(kept.id, "user", "c")

    store.delete(doomed.id)
    store.delete(doomed.id)  # a second delete is a no-op

    assert store.get(doomed.id) is None
    assert store.messages(doomed.id) == []
    assert [c.id for c in store.list()] == [kept.id]
    assert count_rows(db_path, "messages") == 1


# --- messages ----------------------------------------------------------------------------------


def test_messages_oldest_first_with_meta_and_receipt(store: ConversationStore) -> None:
    chat = store.create()
    meta = {
        "tier": "MICRO",
        "complexity": "moderate",
        "reasons": ["asks for code", "long prompt"],
        "fallback": None,
        "ttft_ms": 123.45,
        "nested": {"tokens_per_s": 8.5, "ok": True},
    }

    question = store.add_message(chat.id, "user", "question")
    answer = store.add_message(chat.id, "assistant", "answer", receipt_hash="ab" * 32, meta=meta)
    failure = store.add_message(chat.id, "error", "the model crashed")

    assert store.messages(chat.id) == [question, answer, failure]
    assert answer.receipt_hash == "ab" * 32
    assert dict(answer.meta) == meta
    assert question.meta == {}
    assert question.created_at <= answer.created_at <= failure.created_at


def test_message_is_hashable_and_its_meta_read_only(store: ConversationStore) -> None:
    message = store.add_message(store.create().id, "user", "hi", meta={"tier": "NANO"})

    assert hash(message) == hash(store.messages(message.conversation_id)[0])
    with pytest.raises(TypeError):
        message.meta["tier"] = "LARGE"


def test_add_message_refuses_bad_input_and_leaves_nothing_behind(
    store: ConversationStore, db_path: Path
) -> None:
    chat = store.create()

    with pytest.raises(ValueError, match="unknown role 'system'"):
        store.add_message(chat.id, "system", "x")
    with pytest.raises(ValueError, match="meta must be a JSON object"):
        store.add_message(chat.id, "user", "x", meta={"when": object()})
    with pytest.raises(ValueError, match="meta must be a JSON object"):
        store.add_message(chat.id, "user", "x", meta={"ttft_ms": float("nan")})
    with pytest.raises(LookupError, match="no conversation"):
        store.add_message(chat.id + 1, "user", "x")

    assert count_rows(db_path, "messages") == 0
    assert store.get(chat.id) == chat


def test_delete_message_and_ids_are_never_reused(store: ConversationStore) -> None:
    chat = store.create()
    question = store.add_message(chat.id, "user", "q")
    error = store.add_message(chat.id, "error", "host crashed")

    store.delete_message(error.id)
    store.delete_message(error.id)  # already gone: no-op
    retried = store.add_message(chat.id, "assistant", "a")

    assert store.messages(chat.id) == [question, retried]
    assert retried.id > error.id


# --- search ------------------------------------------------------------------------------------


@pytest.fixture
def searchable(store: ConversationStore) -> dict[str, int]:
    titles = {
        "percent": "100% sure",
        "plain": "100 percent",
        "snake": "snake_case names",
        "camel": "snakeXcase names",
        "german": "Straße nach München",
    }
    ids = {key: store.create(title).id for key, title in titles.items()}
    store.add_message(ids["plain"], "user", "What is a Python DECORATOR?")
    store.add_message(ids["plain"], "assistant", "A function that wraps another.")
    return ids


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", ["percent"]),  # literal, not LIKE's "anything"
        ("_", ["snake"]),  # literal, not LIKE's "any one character"
        ("0% S", ["percent"]),
        ("decorator", ["plain"]),  # in a message, any case
        ("WRAPS ANOTHER", ["plain"]),
        ("MÜNCHEN", ["german"]),  # non-ASCII case folding, which SQLite's LIKE lacks
        ("strasse", ["german"]),  # ß folds to ss
        ("names", ["camel", "snake"]),
        ("nowhere", []),
    ],
)
def test_search_matches_title_or_content_literally(
    store: ConversationStore, searchable: dict[str, int], search: str, expected: list[str]
) -> None:
    found = {c.id for c in store.list(search)}

    assert found == {searchable[key] for key in expected}


@pytest.mark.parametrize("search", [None, "", "   "])
def test_blank_search_lists_everything(
    store: ConversationStore, searchable: dict[str, int], search: str | None
) -> None:
    assert len(store.list(search)) == len(searchable)


# --- persistence and the shared file -----------------------------------------------------------


def test_everything_survives_close_and_reopen(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        chat = store.create("kept")
        messages = [
            store.add_message(chat.id, "user", "q"),
            store.add_message(chat.id, "assistant", "a", receipt_hash="cd" * 32, meta={"x": 1}),
        ]
        listed = store.list()

    with ConversationStore(db_path) as reopened:
        assert reopened.list() == listed
        assert reopened.messages(chat.id) == messages


def test_shares_the_database_file_with_the_receipt_chain(db_path: Path) -> None:
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        chat = store.create("with receipts")
        store.add_message(chat.id, "user", "q")
        receipt = chain.append({"type": "inference", "tier": "NANO"})
        answer = store.add_message(chat.id, "assistant", "a", receipt_hash=receipt.hash)
        chain.append({"type": "inference", "tier": "MICRO"})
        assert chain.verify().ok

    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        report = chain.verify()
        assert report.ok
        assert report.count == 2
        (stored_answer,) = (m for m in store.messages(chat.id) if m.role == "assistant")
        assert stored_answer == answer
        assert chain.get(str(stored_answer.receipt_hash)) == receipt


def test_concurrent_writers_on_one_file(db_path: Path) -> None:
    # Two connections (as the GUI and the CLI would have) and two threads per connection.
    with ConversationStore(db_path) as first, ConversationStore(db_path) as second:
        chat = first.create()

        def write(store: ConversationStore, worker: int) -> None:
            for i in range(20):
                store.add_message(chat.id, "user", f"{worker}-{i}")

        threads = [
            threading.Thread(target=write, args=(store, n))
            for n, store in enumerate([first, second, first, second])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        messages = second.messages(chat.id)
    assert len(messages) == 80
    assert len({m.id for m in messages}) == 80
    for worker in range(4):
        own = [m.content for m in messages if m.content.startswith(f"{worker}-")]
        assert own == [f"{worker}-{i}" for i in range(20)]


# --- schema versions ---------------------------------------------------------------------------


def test_schema_version_is_recorded_per_component(db_path: Path) -> None:
    ConversationStore(db_path).close()

    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute("SELECT component, version FROM schema_versions").fetchall()
    assert rows == [("conversations", SCHEMA_VERSION)] and SCHEMA_VERSION == 4


def test_a_conversation_keeps_its_preset_and_older_files_gain_the_column(db_path: Path) -> None:
    # A file made by the version before presets: the conversations component at version 1.
    from bizra_desktop.core.conversations import _MIGRATIONS  # noqa: PLC0415 - the v1 schema

    with closing(open_database(db_path, "conversations", _MIGRATIONS[:1])) as conn:
        conn.execute(
            "INSERT INTO conversations (title, created_at, updated_at, activity) "
            "VALUES ('old', 'then', 'then', 1)"
        )
    with ConversationStore(db_path) as store:
        [old] = store.list()
        assert (old.title, old.preset) == ("old", None)
        new = store.create("new", preset="Code")
        store.set_preset(old.id, "Creative")
        with pytest.raises(LookupError, match="no conversation with id 999"):
            store.set_preset(999, "Code")
    with ConversationStore(db_path) as store:
        assert {c.title: c.preset for c in store.list()} == {"new": "Code", "old": "Creative"}
        store.set_preset(new.id, None)
        assert store.get(new.id) == replace(new, preset=None)


def test_open_database_runs_only_the_missing_migrations(db_path: Path) -> None:
    v1 = ("CREATE TABLE demo (a TEXT)", "INSERT INTO demo VALUES ('from v1')")
    v2 = ("ALTER TABLE demo ADD COLUMN b TEXT DEFAULT 'from v2'",)

    open_database(db_path, "demo", [v1]).close()
    open_database(db_path, "demo", [v1]).close()  # at version 1 already: nothing runs again
    with closing(open_database(db_path, "demo", [v1, v2])) as conn:
        assert conn.execute("SELECT a, b FROM demo").fetchall() == [("from v1", "from v2")]
        version = conn.execute("SELECT version FROM schema_versions WHERE component = 'demo'")
        assert version.fetchone() == (2,)


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    ConversationStore(db_path).close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("UPDATE schema_versions SET version = 7 WHERE component = 'conversations'")
        conn.commit()

    with pytest.raises(sqlite3.DatabaseError, match="version 7, newer than this BIZRA Desktop"):
        ConversationStore(db_path)


def test_a_file_that_is_not_a_database_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database" * 100)

    with pytest.raises(sqlite3.DatabaseError):
        ConversationStore(db_path)


# --- awkward text ------------------------------------------------------------------------------


def test_awkward_text_is_stored_without_crashing(store: ConversationStore) -> None:
    chat = store.create("title \ud800 with a lone surrogate")
    awkward = {
        "nul": "before\x00after",
        "lone surrogate": "a\udc00b",
        "split pair": "\ud83d\ude00",
        "emoji and RTL": "😀 مرحبا بالعالم",
        "long": "word " * 20_000,
    }
    stored = {key: store.add_message(chat.id, "user", text) for key, text in awkward.items()}

    assert chat.title == "title \ufffd with a lone surrogate"
    assert stored["nul"].content == "before\x00after"
    assert stored["lone surrogate"].content == "a\ufffdb"
    assert stored["split pair"].content == "😀"
    assert stored["emoji and RTL"].content == awkward["emoji and RTL"]
    assert store.messages(chat.id) == list(stored.values())
    assert [c.id for c in store.list("\x00after")] == [chat.id]
    assert [c.id for c in store.list("مرحبا")] == [chat.id]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ANY_TEXT)
def test_any_text_round_trips_as_storable(store: ConversationStore, text: str) -> None:
    chat = store.create()

    message = store.add_message(chat.id, "assistant", text, meta={"echo": text})

    assert store.messages(chat.id) == [message]
    assert message.content == storable(text)
    assert message.meta["echo"] == text  # meta is JSON-escaped, so even surrogates come back
    store.delete(chat.id)


@given(text=ANY_TEXT)
def test_storable_changes_only_what_utf8_cannot_hold(text: str) -> None:
    stored = storable(text)

    stored.encode("utf-8")  # never raises
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assert "\ufffd" in stored or len(stored) < len(text)
    else:
        assert stored == text


# --- titles from prompts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "limit", "title"),
    [
        ("", 48, "New chat"),
        (" \n\t\n", 48, "New chat"),
        ("\n\n  Explain   WAL\tmode \nin detail please", 48, "Explain WAL mode"),
        ("exactly ten", 11, "exactly ten"),
        ("how does the receipt chain work", 16, "how does the…"),  # cut mid-word: word dropped
        ("how does the receipt chain work", 13, "how does the…"),  # cut at a space: word kept
        ("Hello, world and more", 10, "Hello…"),  # no dangling comma
        ("supercalifragilistic", 8, "superca…"),  # one long word: hard cut
    ],
)
def test_title_from_prompt(prompt: str, limit: int, title: str) -> None:
    assert title_from_prompt(prompt, limit) == title


def test_title_from_prompt_needs_room_for_the_ellipsis() -> None:
    with pytest.raises(ValueError, match="limit must be at least 2"):
        title_from_prompt("anything", 1)


@given(prompt=st.text(), limit=st.integers(2, 80))
def test_titles_are_short_single_trimmed_lines(prompt: str, limit: int) -> None:
    title = title_from_prompt(prompt, limit)

    assert 0 < len(title) <= limit
    assert title == " ".join(title.split())


# --- the message tree: branches and variants ------------------------------------------------


def test_messages_form_a_chain_and_an_edit_branches_from_its_prompt(
    store: ConversationStore, db_path: Path
) -> None:
    chat = store.create()
    q1 = store.add_message(chat.id, "user", "q1")
    a1 = store.add_message(chat.id, "assistant", "a1")
    q2 = store.add_message(chat.id, "user", "q2")
    a2 = store.add_message(chat.id, "assistant", "a2")
    assert [m.parent_id for m in (q1, a1, q2, a2)] == [None, q1.id, a1.id, q2.id]

    edited, answer = store.begin_exchange(chat.id, "q2, said better", edit_of=q2.id)
    assert (edited.parent_id, answer.parent_id) == (a1.id, edited.id)
    assert [m.content for m in store.messages(chat.id)] == ["q1", "a1", "q2, said better", ""]
    assert store.variants(edited.id).label == "2/2" and store.variants(q2.id).ids == (
        q2.id,
        edited.id,
    )
    assert store.variants(q1.id).label == "1/1"
    assert [m.id for m in store.lineage(answer.id)] == [q1.id, a1.id, edited.id, answer.id]

    store.select(q2.id)  # back to the first version: its answer comes with it
    assert [m.content for m in store.messages(chat.id)] == ["q1", "a1", "q2", "a2"]
    with ConversationStore(db_path) as reopened:  # the choice survives a restart
        assert [m.id for m in reopened.messages(chat.id)] == [q1.id, a1.id, q2.id, a2.id]
        assert len(reopened.all_messages(chat.id)) == 6
    # A message added at the end goes after the current branch's last message.
    q3 = store.add_message(chat.id, "user", "q3")
    assert q3.parent_id == a2.id


def test_regenerate_adds_a_variant_answer_and_selecting_one_keeps_what_follows_it(
    store: ConversationStore,
) -> None:
    chat = store.create()
    q1 = store.add_message(chat.id, "user", "q1")
    a1 = store.add_message(chat.id, "assistant", "a1")
    q2 = store.add_message(chat.id, "user", "q2")
    asked, again = store.begin_answer(q1.id)
    assert asked == q1 and again.parent_id == q1.id
    assert [m.id for m in store.messages(chat.id)] == [q1.id, again.id]
    assert store.variants(again.id).label == "2/2"
    assert store.chosen_child(q1.id) == again

    store.select(a1.id)
    assert [m.id for m in store.messages(chat.id)] == [q1.id, a1.id, q2.id]
    with pytest.raises(ValueError, match="is not a prompt"):
        store.begin_answer(a1.id)
    with pytest.raises(LookupError):
        store.select(999_999)
    other = store.create()
    with pytest.raises(ValueError, match="not in conversation"):
        store.add_message(other.id, "user", "x", after=q1.id)


def test_deleting_a_message_deletes_the_branch_after_it(store: ConversationStore) -> None:
    chat = store.create()
    q1 = store.add_message(chat.id, "user", "q1")
    a1 = store.add_message(chat.id, "assistant", "a1")
    store.add_message(chat.id, "user", "q2")
    store.begin_answer(q1.id)
    store.delete_message(a1.id)
    assert [m.content for m in store.all_messages(chat.id)] == ["q1", ""]


def test_a_linear_conversation_of_an_older_file_becomes_a_chain(db_path: Path) -> None:
    from bizra_desktop.core.conversations import _MIGRATIONS  # noqa: PLC0415 - the v3 schema

    with closing(open_database(db_path, "conversations", _MIGRATIONS[:3])) as conn:
        conn.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, activity) "
            "VALUES (1, 'old', 'then', 'then', 1)"
        )
        for role, content in (
            ("user", "q1"),
            ("error", "the host crashed"),  # a failed try, then the answer after Retry
            ("assistant", "a1"),
            ("user", "q2"),
            ("assistant", "a2"),
        ):
            conn.execute(
                "INSERT INTO messages (conversation_id, role, content, created_at, meta) "
                "VALUES (1, ?, ?, 'then', '{}')",
                (role, content),
            )
    with ConversationStore(db_path) as store:
        every = store.all_messages(1)
        assert [m.parent_id for m in every] == [None, 1, 1, 3, 4]
        assert [m.content for m in store.messages(1)] == ["q1", "a1", "q2", "a2"]
        assert store.variants(3).label == "2/2"  # the error and the answer after it
