"""Where a receipt's texts live: the conversation messages that point at it by receipt hash.

The assistant message that carries a receipt hash holds the response; the nearest user message
before it in the same conversation holds the prompt. The conversation tables belong to
core.conversations and may not exist yet (a chain made on the command line before any chat).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bizra_desktop.core.receipts.commitments import commit
from bizra_desktop.core.receipts.record import stated_commitments

# One row per answer with a receipt. Its prompt: in a conversation stored as a tree (the
# conversations component's parent_id), the message it answers; in one stored as a list, the
# nearest user message before it (a subquery walking the (conversation_id, id) index).
_EXCHANGES = """
SELECT m.receipt_hash AS receipt_hash, m.conversation_id AS conversation_id, c.title AS title,
       {prompt} AS prompt, m.content AS response
  FROM messages m JOIN conversations c ON c.id = m.conversation_id
 WHERE m.role = 'assistant' AND m.receipt_hash IS NOT NULL
"""
_PROMPT_ANSWERED = "(SELECT u.content FROM messages u WHERE u.id = m.parent_id AND u.role = 'user')"
_PROMPT_BEFORE = """(SELECT u.content FROM messages u
         WHERE u.conversation_id = m.conversation_id AND u.role = 'user' AND u.id < m.id
         ORDER BY u.id DESC LIMIT 1)"""


def exchanges_sql(conn: sqlite3.Connection) -> str:
    """The query of every answer with a receipt and its prompt, for this database's messages."""
    prompt = _PROMPT_ANSWERED if messages_are_a_tree(conn) else _PROMPT_BEFORE
    return _EXCHANGES.format(prompt=prompt)


def messages_are_a_tree(conn: sqlite3.Connection) -> bool:
    """Whether each message names the one it follows (edits and variants branch off)."""
    return any(row[1] == "parent_id" for row in conn.execute("PRAGMA table_info(messages)"))


@dataclass(frozen=True)
class Texts:
    """A receipt's prompt and response with the salt of their commitments."""

    prompt: str
    response: str
    salt: bytes


def has_conversations(conn: sqlite3.Connection) -> bool:
    (tables,) = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
        "AND name IN ('conversations', 'messages')"
    ).fetchone()
    return bool(tables == 2)


def conversation_receipts(conn: sqlite3.Connection, conversation_id: int) -> set[str] | None:
    """The hashes of the receipts answered in a conversation; None if there is no such one."""
    if not has_conversations(conn):
        return None
    if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone():
        rows = conn.execute(
            "SELECT receipt_hash FROM messages WHERE conversation_id = ? AND role = 'assistant' "
            "AND receipt_hash IS NOT NULL",
            (conversation_id,),
        ).fetchall()
        return {str(row[0]) for row in rows}
    return None


@dataclass(frozen=True, kw_only=True)
class Exchange:
    """The prompt and answer a receipt was made for, as the conversation stores them now."""

    conversation_id: int
    title: str
    prompt: str | None  # None: the user message before the answer is gone
    response: str
    matches: bool | None  # the texts reproduce the receipt's commitments; None: no salt stored


def exchange_for(
    conn: sqlite3.Connection, receipt_hash: str, body: Mapping[str, Any]
) -> Exchange | None:
    """The exchange of one receipt (for a detail pane); None if no message carries it. A
    regenerated answer can leave two messages on one receipt: the one that proves it wins."""
    if not has_conversations(conn):
        return None
    rows = conn.execute(
        f"SELECT conversation_id, title, prompt, response FROM ({exchanges_sql(conn)}) "
        "WHERE receipt_hash = ?",
        (receipt_hash,),
    ).fetchall()
    salt_row = conn.execute(
        "SELECT salt FROM commitment_salts WHERE receipt_hash = ?", (receipt_hash,)
    ).fetchone()
    salt = bytes(salt_row[0]) if salt_row else None
    found = [
        Exchange(
            conversation_id=conversation_id,
            title=title,
            prompt=prompt,
            response=response,
            matches=_matches(prompt, response, salt, body),
        )
        for conversation_id, title, prompt, response in rows
    ]
    return next((one for one in found if one.matches), found[0] if found else None)


def _matches(
    prompt: str | None, response: str, salt: bytes | None, body: Mapping[str, Any]
) -> bool | None:
    if salt is None:
        return None
    return prompt is not None and (commit(prompt, salt), commit(response, salt)) == (
        stated_commitments(body)
    )


class TextIndex:
    """The stored texts and salts of receipts, read once, matched against each body on demand."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._salts: dict[str, bytes] = dict(
            conn.execute("SELECT receipt_hash, salt FROM commitment_salts").fetchall()
        )
        self._exchanges: dict[str, list[tuple[str, str]]] = {}
        if has_conversations(conn):
            for receipt_hash, _, _, prompt, response in conn.execute(exchanges_sql(conn)):
                if prompt is not None and receipt_hash in self._salts:
                    self._exchanges.setdefault(receipt_hash, []).append((prompt, response))

    def texts(self, receipt_hash: str, body: Mapping[str, Any]) -> Texts | None:
        """The texts whose stored prompt, response and salt reproduce the body's commitments;
        None when there are none: no salt (a receipt made without one), no message (deleted or
        regenerated), or a text that no longer matches (edited since)."""
        salt = self._salts.get(receipt_hash)
        if salt is None:
            return None
        wanted = stated_commitments(body)
        for prompt, response in self._exchanges.get(receipt_hash, ()):
            if (commit(prompt, salt), commit(response, salt)) == wanted:
                return Texts(prompt, response, bytes(salt))
        return None
