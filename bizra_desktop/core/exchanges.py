"""One run's prompt and answer in its conversation, written by the pipeline for every front end.

The prompt is stored when the run begins, with an empty answer marked partial; the answer is
saved as it streams, at most once every SAVE_EVERY_S (a crash loses at most that much of it);
the complete answer, its receipt link and the salt of its commitments are written in the
receipt's own transaction. A run that fails leaves an error message in the answer's place.

The texts are kept in core.conversations' tables; this module decides when and what to write.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bizra_desktop.core.conversations import (
    ConversationStore,
    Message,
    finish_answer,
    title_from_prompt,
)
from bizra_desktop.core.engine.protocol import FailureKind

# How often a streaming answer is written: a crash of the process loses at most this much of
# it, and each write (synchronous=FULL) costs a flush to disk.
SAVE_EVERY_S = 1.0
# A chat that goes on through the local API is one of the API conversations active lately.
CONTINUE_LOOKBACK = 20


@dataclass(frozen=True, kw_only=True)
class SaveTo:
    """Where a run's prompt and answer are stored (RunOptions.save_to; None: nowhere).

    With a conversation id, in that conversation, whose stored turns are the history the model
    is given. Without one (clients that send the whole conversation with every request, as the
    local API's do), in the recent conversation of `source` whose turns are the run's history,
    else in a new one made with them (continued_conversation) and marked with `preset`, the
    preset the run was asked with (a conversation found again keeps the preset it has).

    In a conversation, the prompt goes at the end of its current branch, or (`edit_of`) beside
    an earlier prompt as a new version of it: a new branch from that point; `answer_to` adds
    another answer to a stored prompt (regenerate: a variant beside the others), and the run's
    prompt must then be that prompt's text. Either way the new branch becomes the current one.
    """

    conversation_id: int | None = None
    source: str = "api"  # only without a conversation id
    preset: str | None = None  # only without a conversation id
    edit_of: int | None = None
    answer_to: int | None = None

    def __post_init__(self) -> None:
        if self.edit_of is not None and self.answer_to is not None:
            raise ValueError("a run either edits a prompt or answers one again, not both")
        if self.conversation_id is None and (self.edit_of or self.answer_to) is not None:
            raise ValueError("edit_of and answer_to need the conversation_id they belong to")
        if self.conversation_id is not None and self.preset is not None:
            raise ValueError("a preset is only recorded for a new conversation, not a stored one")


@dataclass(frozen=True)
class Stored:
    """A pipeline event, the first of a run with RunOptions.save_to: the prompt is saved, and
    these are the messages the run writes to: its prompt's and its answer's (if it fails, an
    error message takes the answer's place, under the same id)."""

    conversation_id: int
    prompt_id: int
    answer_id: int


class ExchangeWriter:
    """Writes one run's exchange; used from the thread that iterates the run."""

    def __init__(
        self,
        store: ConversationStore,
        save_to: SaveTo,
        prompt: str,
        history: Sequence[Mapping[str, str]] = (),
    ) -> None:
        """Stores `prompt` (already cleaned: the text its commitment is made of) and an empty
        answer; `history`: the turns before it, for a SaveTo without a conversation id.
        LookupError if the conversation or a message does not exist, ValueError if `edit_of` or
        `answer_to` is not a prompt of it (or `prompt` not the text of `answer_to`);
        sqlite3.Error if it cannot be written."""
        self._store = store
        self.prompt = prompt
        # The answer the new one is an alternative to (its receipt is the new one's parent).
        replaced = None
        conversation_id = save_to.conversation_id
        if conversation_id is None:
            conversation_id = continued_conversation(
                store, prompt, history, save_to.source, save_to.preset
            )
        if save_to.answer_to is not None:
            asked = store.lineage(save_to.answer_to)[-1]
            if asked.conversation_id != conversation_id or asked.content != prompt:
                raise ValueError(
                    f"the prompt is not the text of message {asked.id} of this conversation"
                )
            replaced = store.chosen_child(asked.id)
            asked, answer = store.begin_answer(asked.id)
        else:
            if save_to.edit_of is not None:
                replaced = store.chosen_child(save_to.edit_of)
            asked, answer = store.begin_exchange(conversation_id, prompt, edit_of=save_to.edit_of)
        self.ids = Stored(conversation_id, asked.id, answer.id)
        earlier = store.lineage(asked.parent_id) if asked.parent_id is not None else []
        self.history = model_history(earlier)
        self.parent_receipt = replaced.receipt_hash if replaced is not None else None
        self._pieces: list[str] = []
        self._saved_at = time.monotonic()
        self._saving = True

    def streamed(self, text: str) -> None:
        """The answer's next piece; the answer so far is written when SAVE_EVERY_S has passed
        since the last write."""
        self._pieces.append(text)
        now = time.monotonic()
        if not self._saving or now - self._saved_at < SAVE_EVERY_S:
            return
        self._saved_at = now
        try:
            self._store.save_partial(self.ids.answer_id, "".join(self._pieces))
        except sqlite3.Error:
            # The answer goes on; its final write, in the receipt's transaction, decides
            # whether it is kept (and fails the run loudly if the file cannot be written).
            self._saving = False

    def finish(self, conn: sqlite3.Connection, receipt_hash: str, text: str, meta: Any) -> None:
        """On the receipt chain's connection, inside the transaction that appends the receipt."""
        finish_answer(conn, self.ids.answer_id, text, receipt_hash, meta)

    def fail(self, kind: FailureKind, reason: str) -> str | None:
        """The answer's message becomes an error saying `reason`; None, or why that could not
        be written."""
        meta: dict[str, Any] = {"prompt": self.prompt, "kind": kind.value}
        answer = "".join(self._pieces)
        if answer:
            meta["partial"] = answer  # what had streamed before the failure
        try:
            self._store.fail_answer(self.ids.answer_id, reason, meta)
        except sqlite3.Error as error:
            return f"the failure was not saved in the conversation: {error}"
        return None


def model_history(messages: Sequence[Message]) -> tuple[dict[str, str], ...]:
    """The turns the model sees of `messages`: prompts and answers with text; errors left out."""
    return tuple(
        {"role": message.role, "content": message.content}
        for message in messages
        if message.role in ("user", "assistant") and message.content
    )


def continued_conversation(
    store: ConversationStore,
    prompt: str,
    history: Sequence[Mapping[str, str]],
    source: str,
    preset: str | None = None,
) -> int:
    """The conversation a prompt after `history` goes into: a recent conversation of `source`
    whose turns are `history`, else a new one that holds `history`, marked with `preset`. API
    clients send the whole conversation with every request; this keeps one conversation per
    chat, not one per turn.
    Only the CONTINUE_LOOKBACK most recently active conversations of `source` are compared."""
    wanted = tuple({"role": turn["role"], "content": turn["content"]} for turn in history)
    if wanted:
        for conversation in store.recent(source, CONTINUE_LOOKBACK):
            if model_history(store.messages(conversation.id)) == wanted:
                return conversation.id
    title = title_from_prompt(wanted[0]["content"] if wanted else prompt)
    turns = [(turn["role"], turn["content"]) for turn in wanted]
    return store.create(title, preset, source, turns).id
