"""Conversations and their messages, kept in the app's SQLite database beside the receipts."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bizra_desktop.core.db import Migration, SqliteStore, utc_now

ROLES = frozenset({"user", "assistant", "error"})  # "error": an inline failure shown with Retry
# Where a conversation was started: the window, `bizra ask`/`bizra chat`, the local API.
SOURCES = ("app", "cli", "api")

_MIGRATIONS: tuple[Migration, ...] = (
    (
        # AUTOINCREMENT: an id is never handed out twice, so a stale id held by the UI after a
        # delete cannot name a newer row.
        """CREATE TABLE conversations (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            title      TEXT NOT NULL,
            created_at TEXT NOT NULL,     -- UTC ISO 8601, 'Z'
            updated_at TEXT NOT NULL,     -- time of the latest message (or of creation)
            activity   INTEGER NOT NULL   -- ordering key: larger = more recent activity
        )""",
        "CREATE INDEX conversations_by_activity ON conversations (activity)",
        """CREATE TABLE messages (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'error')),
            content         TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            receipt_hash    TEXT,              -- the receipt of an assistant answer
            meta            TEXT NOT NULL      -- JSON object
        )""",
        "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
    ),
    # The preset a conversation answers with (core/presets.py); NULL: the settings as they are.
    ("ALTER TABLE conversations ADD COLUMN preset TEXT",),
    # Which front end started a conversation (SOURCES): the window lists the local API's too.
    ("ALTER TABLE conversations ADD COLUMN source TEXT NOT NULL DEFAULT 'app'",),
    # Messages as a tree: an edited prompt starts a branch beside the one it edits, another
    # answer to a prompt is a variant beside the others. At each fork the sibling with the
    # largest `chosen` is the current one (select(), and every new message, raise it), so the
    # choice survives a restart. Deleting a message deletes what follows it.
    (
        "ALTER TABLE messages ADD COLUMN parent_id INTEGER "
        "REFERENCES messages (id) ON DELETE CASCADE",
        "ALTER TABLE messages ADD COLUMN chosen INTEGER NOT NULL DEFAULT 0",
        "UPDATE messages SET chosen = id",
        # A linear conversation becomes a chain: a prompt follows the message before it; an
        # answer or an error answers the nearest prompt before it (so a failed try and the
        # answer after it become two variants of one prompt's answer).
        """UPDATE messages SET parent_id = (
            SELECT max(p.id) FROM messages p
             WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
               AND (messages.role = 'user' OR p.role = 'user'))""",
        "CREATE INDEX messages_by_parent ON messages (parent_id, chosen)",
    ),
)

SCHEMA_VERSION = len(_MIGRATIONS)  # the conversations component's current schema

_CONVERSATION = "SELECT id, title, created_at, updated_at, preset, source FROM conversations"
_COLUMNS = "id, conversation_id, role, content, created_at, receipt_hash, meta, parent_id"
_MESSAGE = f"SELECT {_COLUMNS} FROM messages"
# The current branch of a conversation, root first: at each fork the child chosen last.
_BRANCH = f"""
WITH RECURSIVE branch (id, depth) AS (
    SELECT (SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS NULL
             ORDER BY chosen DESC, id DESC LIMIT 1), 0
    UNION ALL
    SELECT (SELECT c.id FROM messages c WHERE c.parent_id = branch.id
             ORDER BY c.chosen DESC, c.id DESC LIMIT 1), depth + 1
      FROM branch WHERE branch.id IS NOT NULL
)
SELECT {_COLUMNS} FROM branch JOIN messages USING (id) ORDER BY depth"""
# A message and those before it up to the root (height 0: the message itself).
_LINEAGE = """
WITH RECURSIVE up (id, parent, height) AS (
    SELECT id, parent_id, 0 FROM messages WHERE id = ?
    UNION ALL
    SELECT m.id, m.parent_id, height + 1 FROM messages m JOIN up ON m.id = up.parent
)"""
_NEXT_CHOSEN = "SELECT coalesce(max(chosen), 0) + 1 FROM messages"

# A counter rather than updated_at orders the list: clocks tie (Windows ticks every 15.6 ms)
# and can step back, and "created, then answered in the same tick" must still sort right.
_NEXT_ACTIVITY = "SELECT coalesce(max(activity), 0) + 1 FROM conversations"

DEFAULT_TITLE = "New chat"


class EndOfBranch:
    """The `after` of a message added at the end of the current branch."""


END_OF_BRANCH = EndOfBranch()

# The meta of an answer still streaming; one that keeps it after the app has gone was cut off
# by a crash (its text is what had been saved, its receipt was never made).
PARTIAL = "partial"
_PARTIAL = f'{{"{PARTIAL}": true}}'


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created_at: str
    updated_at: str
    preset: str | None = None  # a preset's name; None: the settings as they are
    source: str = "app"  # one of SOURCES


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    created_at: str
    receipt_hash: str | None
    # tier, complexity, model, reasons, fallback, ttft_ms, tokens_per_s, ...
    # Kept out of hash() (a mapping is unhashable) but compared by ==.
    meta: Mapping[str, Any] = field(hash=False)
    parent_id: int | None = None  # the message it follows; None: a first message


@dataclass(frozen=True)
class Variants:
    """A message and its siblings (the other versions of a prompt, the other answers to one),
    oldest first: the window shows `label` between its two arrows."""

    ids: tuple[int, ...]
    index: int  # the message's place in `ids`, from 0

    @property
    def label(self) -> str:
        return f"{self.index + 1}/{len(self.ids)}"


class ConversationStore(SqliteStore):
    """Conversations in one SQLite file. Thread-safe; the GUI and the CLI may share the file.

    Text goes in as UTF-8. A lone surrogate, which UTF-8 cannot encode, is stored as U+FFFD
    (a split but valid pair is joined first); NUL and every other character are kept as they are.
    """

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path, "conversations", _MIGRATIONS)
        with self.connection() as conn:
            conn.create_function("bizra_contains", 2, _contains, deterministic=True)

    def create(
        self,
        title: str = DEFAULT_TITLE,
        preset: str | None = None,
        source: str = "app",
        turns: Sequence[tuple[str, str]] = (),
    ) -> Conversation:
        """A new conversation holding `turns` (role, text), all committed together.
        ValueError for an empty title, an unknown source or role."""
        title = _title(title)
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        for role, _ in turns:
            _check_role(role)
        with self.transaction() as conn:
            now = utc_now()
            cursor = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, activity, preset, "
                f"source) VALUES (?, ?, ?, ({_NEXT_ACTIVITY}), ?, ?)",
                (title, now, now, preset, source),
            )
            parent = None
            for role, text in turns:
                parent = _insert(conn, _rowid(cursor), role, text, parent).id
        return Conversation(_rowid(cursor), title, now, now, preset, source)

    def list(self, search: str | None = None) -> builtins.list[Conversation]:
        """Newest activity first. `search` keeps conversations whose title or any message
        contains it, ignoring case (Unicode case folding) and matching every character literally.
        """
        needle = (search or "").strip().casefold()
        query = _CONVERSATION
        params: tuple[str, ...] = ()
        if needle:
            query += (
                " WHERE bizra_contains(title, ?) OR EXISTS (SELECT 1 FROM messages"
                " WHERE conversation_id = conversations.id AND bizra_contains(content, ?))"
            )
            params = (needle, needle)
        with self.connection() as conn:
            rows = conn.execute(f"{query} ORDER BY activity DESC", params).fetchall()
        return [Conversation(*row) for row in rows]

    def recent(self, source: str, limit: int) -> builtins.list[Conversation]:
        """The `limit` conversations of `source` ("app", "cli", "api") active most recently."""
        with self.connection() as conn:
            rows = conn.execute(
                f"{_CONVERSATION} WHERE source = ? ORDER BY activity DESC LIMIT ?", (source, limit)
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, conversation_id: int) -> Conversation | None:
        with self.connection() as conn:
            row = conn.execute(f"{_CONVERSATION} WHERE id = ?", (conversation_id,)).fetchone()
        return Conversation(*row) if row else None

    def rename(self, conversation_id: int, title: str) -> Conversation:
        """Set the title (whitespace collapsed). Renaming is not activity: the order stays."""
        title = _title(title)
        with self.connection() as conn:
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
            )
            row = conn.execute(f"{_CONVERSATION} WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise LookupError(f"no conversation with id {conversation_id}")
        return Conversation(*row)

    def set_preset(self, conversation_id: int, preset: str | None) -> None:
        """Answer this conversation with the preset named `preset` (None: the settings)."""
        with self.connection() as conn:
            changed = conn.execute(
                "UPDATE conversations SET preset = ? WHERE id = ?", (preset, conversation_id)
            )
        if changed.rowcount == 0:
            raise LookupError(f"no conversation with id {conversation_id}")

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation and its messages; deleting a missing one does nothing."""
        with self.connection() as conn:
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def message_counts(self) -> dict[int, int]:
        """The number of messages of each conversation that has any, by conversation id."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT conversation_id, count(*) FROM messages GROUP BY conversation_id"
            ).fetchall()
        return {conversation_id: count for conversation_id, count in rows}

    def messages(self, conversation_id: int) -> builtins.list[Message]:
        """The current branch, first message first: what the window shows and the model is
        given as history (at each fork, the variant chosen last)."""
        with self.connection() as conn:
            rows = conn.execute(_BRANCH, (conversation_id,)).fetchall()
        return [_message(row) for row in rows]

    def all_messages(self, conversation_id: int) -> builtins.list[Message]:
        """Every message of every branch, oldest first; `parent_id` says where each goes."""
        with self.connection() as conn:
            rows = conn.execute(
                f"{_MESSAGE} WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [_message(row) for row in rows]

    def lineage(self, message_id: int) -> builtins.list[Message]:
        """The message and those before it on its branch, first message first; LookupError if
        there is no such message."""
        with self.connection() as conn:
            found = lineage(conn, message_id)
        if not found:
            raise LookupError(f"no message with id {message_id}")
        return found

    def variants(self, message_id: int) -> Variants:
        """The message among its siblings; LookupError if there is no such message."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT s.id FROM messages m JOIN messages s ON s.conversation_id = "
                "m.conversation_id AND s.parent_id IS m.parent_id WHERE m.id = ? ORDER BY s.id",
                (message_id,),
            ).fetchall()
        ids = tuple(row[0] for row in rows)
        if not ids:
            raise LookupError(f"no message with id {message_id}")
        return Variants(ids, ids.index(message_id))

    def chosen_child(self, message_id: int) -> Message | None:
        """The current variant of what follows the message; None if nothing does."""
        with self.connection() as conn:
            row = conn.execute(
                f"{_MESSAGE} WHERE parent_id = ? ORDER BY chosen DESC, id DESC LIMIT 1",
                (message_id,),
            ).fetchone()
        return _message(row) if row else None

    def select(self, message_id: int) -> None:
        """Make the message's branch the current one: it becomes the chosen variant at its
        fork, and so does each message before it. LookupError if there is no such message."""
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone():
                raise LookupError(f"no message with id {message_id}")
            _make_current(conn, message_id)

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        receipt_hash: str | None = None,
        meta: Mapping[str, Any] | None = None,
        after: int | EndOfBranch | None = END_OF_BRANCH,
    ) -> Message:
        """Add a message after `after` (a message id; None: as a first message; by default at
        the end of the current branch), make its branch the current one and the conversation's
        latest activity; returns once committed.

        Raises ValueError for an unknown role, a meta that is not a JSON object or an `after`
        of another conversation, LookupError if the conversation does not exist.
        """
        _check_role(role)
        meta_json = _meta_json(meta or {})
        with self.transaction() as conn:
            parent = _parent(conn, conversation_id, after)
            return _insert(
                conn,
                conversation_id,
                role,
                content,
                parent,
                receipt_hash=receipt_hash,
                meta_json=meta_json,
            )

    def begin_exchange(
        self, conversation_id: int, prompt: str, *, edit_of: int | None = None
    ) -> tuple[Message, Message]:
        """The prompt (at the end of the current branch, or beside the prompt `edit_of` as a
        new branch) and an empty answer after it marked `partial`, committed together (the
        answer streams into the second: save_partial, then finish_answer or fail_answer).
        LookupError if the conversation does not exist, ValueError if `edit_of` is not one of
        its prompts."""
        with self.transaction() as conn:
            after: int | EndOfBranch | None = END_OF_BRANCH
            if edit_of is not None:
                after = _prompt(conn, conversation_id, edit_of).parent_id
            asked = _insert(
                conn, conversation_id, "user", prompt, _parent(conn, conversation_id, after)
            )
            answer = _insert(conn, conversation_id, "assistant", "", asked.id, meta_json=_PARTIAL)
        return asked, answer

    def begin_answer(self, prompt_id: int) -> tuple[Message, Message]:
        """Another answer to the stored prompt `prompt_id` (regenerate: a variant beside the
        others), empty and marked `partial`; returns the prompt and the answer. ValueError if
        `prompt_id` is not a prompt, LookupError if there is no such message."""
        with self.transaction() as conn:
            asked = _prompt(conn, None, prompt_id)
            answer = _insert(
                conn, asked.conversation_id, "assistant", "", asked.id, meta_json=_PARTIAL
            )
        return asked, answer

    def save_partial(self, message_id: int, text: str) -> None:
        """The answer so far, while it streams."""
        with self.connection() as conn:
            conn.execute(
                "UPDATE messages SET content = ? WHERE id = ?", (storable(text), message_id)
            )

    def fail_answer(self, message_id: int, reason: str, meta: Mapping[str, Any]) -> None:
        """An answer that never came becomes an error message saying why (`meta`: what to retry)."""
        with self.connection() as conn:
            conn.execute(
                "UPDATE messages SET role = 'error', content = ?, meta = ? WHERE id = ?",
                (storable(reason), _meta_json(meta), message_id),
            )

    def delete_message(self, message_id: int) -> None:
        """Delete a message (a replaced error, a regenerated answer); a missing id does nothing."""
        with self.connection() as conn:
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))


def finish_answer(
    conn: sqlite3.Connection,
    message_id: int,
    text: str,
    receipt_hash: str,
    meta: Mapping[str, Any],
) -> None:
    """The complete answer of begin_exchange() with its receipt, on `conn` inside the caller's
    transaction (the receipt's own, so the two commit together). An answer whose conversation
    was deleted meanwhile is not kept."""
    now = utc_now()
    changed = conn.execute(
        "UPDATE messages SET content = ?, receipt_hash = ?, meta = ? WHERE id = ?",
        (storable(text), receipt_hash, _meta_json(meta), message_id),
    )
    if changed.rowcount:
        conn.execute(
            f"UPDATE conversations SET updated_at = ?, activity = ({_NEXT_ACTIVITY}) "
            "WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
            (now, message_id),
        )


def _parent(
    conn: sqlite3.Connection, conversation_id: int, after: int | EndOfBranch | None
) -> int | None:
    """The id a new message of the conversation follows."""
    if isinstance(after, EndOfBranch):
        rows = conn.execute(_BRANCH, (conversation_id,)).fetchall()
        return rows[-1][0] if rows else None
    if after is not None:
        row = conn.execute("SELECT conversation_id FROM messages WHERE id = ?", (after,)).fetchone()
        if row is None or row[0] != conversation_id:
            raise ValueError(f"message {after} is not in conversation {conversation_id}")
    return after


def _prompt(conn: sqlite3.Connection, conversation_id: int | None, message_id: int) -> Message:
    """The stored prompt `message_id` (of `conversation_id`, when given)."""
    row = conn.execute(f"{_MESSAGE} WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise LookupError(f"no message with id {message_id}")
    message = _message(row)
    if message.role != "user" or conversation_id not in (None, message.conversation_id):
        raise ValueError(f"message {message_id} is not a prompt of this conversation")
    return message


def _make_current(conn: sqlite3.Connection, message_id: int) -> None:
    """Make the message and each before it the chosen variant at its fork."""
    conn.execute(
        f"{_LINEAGE} UPDATE messages SET chosen = ({_NEXT_CHOSEN}) WHERE id IN (SELECT id FROM up)",
        (message_id,),
    )


def _insert(
    conn: sqlite3.Connection,
    conversation_id: int,
    role: str,
    content: str,
    parent_id: int | None,
    *,
    receipt_hash: str | None = None,
    meta_json: str = "{}",
) -> Message:
    """Add a message after `parent_id` on the current branch and make it the conversation's
    latest activity (inside a transaction)."""
    content = storable(content)
    now = utc_now()
    bumped = conn.execute(
        f"UPDATE conversations SET updated_at = ?, activity = ({_NEXT_ACTIVITY}) WHERE id = ?",
        (now, conversation_id),
    )
    if bumped.rowcount == 0:
        raise LookupError(f"no conversation with id {conversation_id}")
    if parent_id is not None:
        _make_current(conn, parent_id)
    cursor = conn.execute(
        "INSERT INTO messages (conversation_id, role, content, created_at, receipt_hash, meta, "
        f"parent_id, chosen) VALUES (?, ?, ?, ?, ?, ?, ?, ({_NEXT_CHOSEN}))",
        (conversation_id, role, content, now, receipt_hash, meta_json, parent_id),
    )
    row = (_rowid(cursor), conversation_id, role, content, now, receipt_hash, meta_json, parent_id)
    return _message(row)


def title_from_prompt(prompt: str, limit: int = 48) -> str:
    """A conversation title from its first prompt: the first non-blank line (DEFAULT_TITLE if
    none), whitespace collapsed, at most `limit` characters: cut at a word boundary and ended
    with "…" when shortened."""
    if limit < 2:
        raise ValueError(f"limit must be at least 2 (room for a character and '…'), not {limit}")
    lines = (" ".join(line.split()) for line in prompt.splitlines())
    line = next((line for line in lines if line), DEFAULT_TITLE)
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if line[limit - 1] != " ":
        # Mid-word: drop the partial word, unless the whole cut is one word.
        cut = cut.rpartition(" ")[0] or cut
    return cut.rstrip(" ,;:") + "…"


def storable(text: str) -> str:
    """`text` as SQLite's UTF-8 can hold it: a surrogate pair is joined, a lone surrogate
    becomes U+FFFD; everything else, NUL included, is unchanged."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(sorted(ROLES))}")


def _title(title: str) -> str:
    cleaned = " ".join(storable(title).split())
    if not cleaned:
        raise ValueError("a conversation title cannot be empty")
    return cleaned


def _contains(text: str, folded_needle: str) -> bool:
    # SQLite's LIKE and lower() fold ASCII only, and LIKE gives % and _ a meaning.
    return folded_needle in text.casefold()


def _meta_json(meta: Mapping[str, Any]) -> str:
    # ensure_ascii (the default) escapes every non-ASCII character, so any str in meta, even a
    # lone surrogate, round-trips exactly.
    try:
        return json.dumps(dict(meta), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"message meta must be a JSON object: {exc}") from exc


def lineage(conn: sqlite3.Connection, message_id: int) -> list[Message]:
    """The message and those before it on its branch, first message first (none if there is
    no such message), on a connection to a database whose messages are a tree."""
    rows = conn.execute(
        f"{_LINEAGE} SELECT {_COLUMNS} FROM up JOIN messages USING (id) ORDER BY height DESC",
        (message_id,),
    ).fetchall()
    return [_message(row) for row in rows]


def _message(row: tuple[Any, ...]) -> Message:
    message_id, conversation_id, role, content, created_at, receipt_hash, meta, parent_id = row
    return Message(
        message_id,
        conversation_id,
        role,
        content,
        created_at,
        receipt_hash,
        MappingProxyType(json.loads(meta)),
        parent_id,
    )


def _rowid(cursor: sqlite3.Cursor) -> int:
    # Set after every INSERT; None only before the first, which cannot happen here.
    assert cursor.lastrowid is not None
    return cursor.lastrowid
