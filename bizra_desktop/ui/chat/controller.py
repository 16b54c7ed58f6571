"""ChatController: the window's conversations and prompts without blocking the GUI thread.

It owns the generation worker (the pipeline on its own QThread) and a task runner that makes
every other conversation-store read and write, and it keeps the open conversation's messages
in a typed list (ui/chat/messages.py). The views only draw what its signals report: they hold
no state of their own that another part of the window reads back.

One prompt: the store makes the conversation (a new chat's); the worker runs the prompt with
RunOptions.save_to, so the pipeline stores the prompt, the answer as it streams, and the answer
with its receipt (or the error in its place), on the worker's thread. The controller is idle
again once the conversations are listed in their new order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Signal

from bizra_desktop.core.conversations import (
    Conversation,
    ConversationStore,
    Variants,
    title_from_prompt,
)
from bizra_desktop.core.exchanges import SaveTo, Stored
from bizra_desktop.core.feedback import EscalationMemory
from bizra_desktop.core.pipeline import Finished, Loaded, Pipeline, Routed, RunOptions
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.background import QUEUED, Task, TaskRunner
from bizra_desktop.ui.chat.generation import WorkerThread
from bizra_desktop.ui.chat.messages import ChatMessage, last_exchange

T = TypeVar("T")
Options = Callable[[Tier | None], RunOptions]  # the window's choices, with a pin or not


@dataclass(kw_only=True)
class Answer:
    """The answer being generated now."""

    request_id: int
    prompt: str
    options: RunOptions
    conversation_id: int | None  # None until the store has made the new chat's conversation
    prompt_index: int  # the prompt's place in the messages
    edit_of: int | None = None  # the stored prompt this one is a new version of
    answer_to: int | None = None  # the stored prompt answered again (a new variant)
    stored: Stored | None = None  # where the pipeline stores the prompt and the answer
    text: list[str] = field(default_factory=list)
    routed: Routed | None = None
    requested: bool = False  # the worker has the run
    stop_requested: bool = False  # Stop pressed, perhaps before the worker had the run
    shown: bool = True  # its conversation is still the one open


class ChatController(QObject):
    """Signals, all on the GUI thread: the sidebar's rows, the messages of the conversation
    opened, and the events of the answer being generated (for that answer only)."""

    listed = Signal(object)  # list[Conversation], newest first
    opened = Signal(object, object)  # Conversation | None, list[ChatMessage]
    appended = Signal(object)  # ChatMessage: a prompt sent, or an error
    removed = Signal(int)  # index of a message dropped (an answer being regenerated)
    reloaded = Signal(object)  # list[ChatMessage]: another branch of the open conversation
    relabelled = Signal(int, object)  # index, ChatMessage: its versions changed
    editing = Signal(object)  # ChatMessage | None: the prompt the next send edits
    started = Signal()
    routed = Signal(object)  # Routed
    loading = Signal(str)  # model name
    loaded = Signal(object, object)  # Loaded, the name of the model loaded (None: not routed)
    token = Signal(str, float)  # text, live tokens/s
    answered = Signal(object)  # ChatMessage: the answer, as it is kept
    failed = Signal()  # the answer failed; its error follows as `appended`
    idle = Signal()  # the answer (or error) is stored: the next prompt may go
    receipt = Signal(str, object)  # hash, Receipt | None: what show_receipt found
    said = Signal(str)  # a line for the status bar

    def __init__(
        self,
        pipeline: Pipeline,
        store: ConversationStore,
        feedback: EscalationMemory,
        options: Options,
    ) -> None:
        super().__init__()
        self.pipeline, self.store, self.feedback = pipeline, store, feedback
        self.options = options  # replaceable: the UI benchmark asks for full-length answers
        self.conversation_id: int | None = None
        self.messages: list[ChatMessage] = []
        self.answer: Answer | None = None
        self._edit_index: int | None = None  # the prompt the next send edits
        self.search = ""
        self._request_ids = 0
        self.generation = WorkerThread(pipeline)
        self.jobs = TaskRunner("bizra-chat-store", self)
        worker = self.generation.worker
        worker.stored.connect(self._on_stored, QUEUED)
        worker.routed.connect(self._on_routed, QUEUED)
        worker.loading.connect(self._on_loading, QUEUED)
        worker.loaded.connect(self._on_loaded, QUEUED)
        worker.token.connect(self._on_token, QUEUED)
        worker.finished.connect(self._on_finished, QUEUED)
        worker.failed.connect(self._on_failed, QUEUED)
        # Opened here, before any run can open it on the generation thread at the same time.
        self._submit(lambda: pipeline.chain, _ignore, write=False)

    # --- conversations ----------------------------------------------------------------------

    def _submit(
        self,
        run: Callable[[], T],
        done: Callable[[T], None],
        *,
        write: bool,
        error: Callable[[str], None] | None = None,
    ) -> None:
        """`run` on the store's thread, then `done(result)` here (or `error(message)`, by
        default said in the status bar); a write runs even when the window closes first."""
        self.jobs.submit(
            Task(lambda _progress: run(), done, error=error or self._store_failed, finish=write)
        )

    def _store_failed(self, message: str) -> None:
        self.said.emit(f"The conversation store failed: {message}")

    def _abandon(self, message: str) -> None:
        """The answer's prompt or answer could not be stored: say so, and be ready again."""
        self.said.emit(f"The conversation was not saved: {message}")
        self.answer = None
        self.idle.emit()

    def _list(self) -> list[Conversation]:  # on the store's thread
        return self.store.list(self.search or None)

    def refresh(self, search: str | None = None) -> None:
        """List the conversations again (those matching `search`, if given)."""
        if search is not None:
            self.search = search
        self._submit(self._list, self.listed.emit, write=False)

    def open(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            return
        self._leave()
        self.conversation_id = conversation_id

        def read() -> tuple[Conversation | None, list[ChatMessage]]:
            return self.store.get(conversation_id), self._branch(conversation_id)

        self._submit(read, lambda found: self._opened(conversation_id, *found), write=False)

    def _branch(self, conversation_id: int) -> list[ChatMessage]:  # on the store's thread
        """The conversation's current branch, each message with its other versions."""
        return [
            ChatMessage.stored(message, self.store.variants(message.id))
            for message in self.store.messages(conversation_id)
        ]

    def switch(self, index: int, step: int) -> None:
        """Show the version `step` away (-1, +1) of message `index`, and the branch after it."""
        variants, conversation_id = self.messages[index].variants, self.conversation_id
        if self.answer is not None or variants is None or conversation_id is None:
            return
        target = variants.ids[max(0, min(len(variants.ids) - 1, variants.index + step))]

        def select() -> list[ChatMessage]:
            self.store.select(target)
            return self._branch(conversation_id)

        self._submit(select, lambda branch: self._reload(conversation_id, branch), write=True)

    def _reload(self, conversation_id: int, branch: list[ChatMessage]) -> None:
        if conversation_id == self.conversation_id and self.answer is None:
            self.cancel_edit()
            self.messages = branch
            self.reloaded.emit(branch)

    def begin_edit(self, index: int) -> None:
        """The next prompt sent is a new version of prompt `index` (a branch from there)."""
        if self.messages[index].role == "user" and self.messages[index].id is not None:
            self._edit_index = index
            self.editing.emit(self.messages[index])

    def cancel_edit(self) -> None:
        if self._edit_index is not None:
            self._edit_index = None
            self.editing.emit(None)

    def _opened(
        self, conversation_id: int, conversation: Conversation | None, messages: list[ChatMessage]
    ) -> None:
        if conversation_id == self.conversation_id:  # not left for another meanwhile
            self.messages = messages
            self.opened.emit(conversation, messages)

    def _leave(self) -> None:
        """Another conversation opens: the answer stops, and is stored where it belongs."""
        if self.answer is not None:
            self.answer.shown = False
            self.stop()

    def new_chat(self) -> None:
        self._leave()
        self.cancel_edit()
        self.conversation_id = None
        self.messages = []
        self.opened.emit(None, [])

    def rename(self, conversation_id: int, title: str) -> None:
        self._submit(lambda: self.store.rename(conversation_id, title), _ignore, write=True)

    def set_preset(self, preset: str | None) -> None:
        """The open conversation answers with `preset` from its next prompt on."""
        conversation_id = self.conversation_id
        if conversation_id is not None:
            self._submit(
                lambda: self.store.set_preset(conversation_id, preset), _ignore, write=True
            )

    def delete(self) -> None:
        """Delete the open conversation and start a new chat."""
        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        self.new_chat()

        def delete() -> list[Conversation]:
            self.store.delete(conversation_id)
            return self._list()

        self._submit(delete, self.listed.emit, write=True)

    def reset_learning(self) -> None:
        def reset() -> str:
            return f"Forgot {self.feedback.reset()} escalations: routing starts fresh."

        self._submit(reset, self.said.emit, write=True)

    def find_receipt(self, receipt_hash: str) -> None:
        """Look a receipt up in the chain; `receipt` reports it."""
        self._submit(
            lambda: self.pipeline.chain.get(receipt_hash),
            lambda found: self.receipt.emit(receipt_hash, found),
            write=False,
        )

    # --- prompts ----------------------------------------------------------------------------

    def send(self, prompt: str, title_preset: str | None) -> None:
        """Answer `prompt` (cleaned) in the open conversation, or in a new one that answers
        with the preset `title_preset`."""
        if self.answer is not None:
            return
        edit_of = None
        if self._edit_index is not None:  # the branch goes on from before the edited prompt
            edit_of = self.messages[self._edit_index].id
            del self.messages[self._edit_index :]
            self.reloaded.emit(self.messages)
            self.cancel_edit()
        message = ChatMessage(role="user", text=prompt)
        self.messages.append(message)
        self.appended.emit(message)
        self._begin(prompt, None)
        assert self.answer is not None
        self.answer.edit_of = edit_of
        if self.conversation_id is not None:
            self._request()
            return

        def create() -> tuple[int, list[Conversation]]:
            return self.store.create(title_from_prompt(prompt), title_preset).id, self._list()

        self._submit(create, lambda made: self._created(*made), write=True, error=self._abandon)

    def _created(self, conversation_id: int, rows: list[Conversation]) -> None:
        answer = self.answer
        if answer is not None and answer.conversation_id is None:
            answer.conversation_id = conversation_id
            if answer.shown:  # the new chat shown is this conversation now
                self.conversation_id = conversation_id
        self.listed.emit(rows)
        self._request()

    def regenerate(self, pin: Tier | None = None) -> None:
        """Answer the last prompt again: a new variant beside its answer (or error), which
        stays stored, one "\u2039 \u203a" step away."""
        exchange = last_exchange(self.messages)
        if self.answer is not None or exchange is None:
            return
        index, after = exchange
        if after is not None:
            self.messages.pop()
            self.removed.emit(len(self.messages))
        self.cancel_edit()
        self._begin(self.messages[index].text, pin)
        assert self.answer is not None
        self.answer.answer_to = self.messages[index].id
        self._request()

    def ask_bigger(self) -> None:
        """The last answer again, by the next bigger tier; routing learns from it."""
        exchange = last_exchange(self.messages)
        if self.answer is not None or exchange is None or exchange[1] is None:
            return
        current = exchange[1].tier
        if current is None or current is Tier.LARGE:
            return
        bigger = Tier(current + 1)
        kind = str(exchange[1].meta.get("kind") or "general")
        self._submit(lambda: self.feedback.record(kind, current, bigger), _ignore, write=True)
        self.regenerate(pin=bigger)

    def _begin(self, prompt: str, pin: Tier | None) -> None:
        self._request_ids += 1
        self.answer = Answer(
            request_id=self._request_ids,
            prompt=prompt,
            options=self.options(pin),
            conversation_id=self.conversation_id,
            prompt_index=len(self.messages) - 1,  # the prompt is the last message
        )
        self.started.emit()

    def _request(self) -> None:
        """Hand the answer's run to the worker: the pipeline stores its prompt and answer in
        the conversation (made by now) and takes the history from there."""
        answer = self.answer
        if answer is None or answer.requested or answer.conversation_id is None:
            return
        answer.requested = True
        save_to = SaveTo(
            conversation_id=answer.conversation_id,
            edit_of=answer.edit_of,
            answer_to=answer.answer_to,
        )
        options = replace(answer.options, save_to=save_to)
        self.generation.worker.request(answer.request_id, answer.prompt, options)
        if answer.stop_requested:
            self.generation.worker.stop()

    def stop(self) -> None:
        """Stop the answer; with none, stop editing an earlier prompt."""
        if self.answer is not None:
            self.answer.stop_requested = True
            self.generation.worker.stop()
        else:
            self.cancel_edit()

    def _current(self, request_id: int) -> Answer | None:
        answer = self.answer
        return answer if answer is not None and answer.request_id == request_id else None

    def _on_stored(self, request_id: int, stored: Stored) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        answer.stored = stored
        if answer.shown:
            prompt = self.messages[answer.prompt_index]
            self.messages[answer.prompt_index] = prompt.with_id(stored.prompt_id)

    def _on_routed(self, request_id: int, routed: Routed) -> None:
        if (answer := self._current(request_id)) is not None:
            answer.routed = routed
            self.routed.emit(routed)

    def _on_loading(self, request_id: int, model_name: str) -> None:
        if self._current(request_id) is not None:
            self.loading.emit(model_name)

    def _on_loaded(self, request_id: int, loaded: Loaded) -> None:
        if (answer := self._current(request_id)) is not None:
            routed = answer.routed
            self.loaded.emit(loaded, routed.decision.model.name if routed else None)

    def _on_token(self, request_id: int, text: str, tokens_per_s: float) -> None:
        if (answer := self._current(request_id)) is not None:
            answer.text.append(text)
            self.token.emit(text, tokens_per_s)

    def _on_finished(self, request_id: int, result: Finished) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        message = ChatMessage(
            role="assistant",
            text=result.text,
            receipt_hash=result.receipt.hash,
            meta=result.message_meta(),
            id=answer.stored.answer_id if answer.stored else None,
        )
        if answer.shown:
            self.messages.append(message)
            self.answered.emit(message)
        self._end()

    def _on_failed(self, request_id: int, kind: str, text: str) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        message = ChatMessage(
            role="error",
            text=text,
            meta={"prompt": answer.prompt, "kind": kind},
            id=answer.stored.answer_id if answer.stored else None,  # the answer's place
        )
        if answer.shown:
            self.messages.append(message)
            self.failed.emit()
            self.appended.emit(message)
        self._end()

    def _end(self) -> None:
        """The pipeline has stored the answer (or error): list the conversations in their new
        order and count the versions of the prompt and the answer, then be ready again."""
        answer = self.answer
        assert answer is not None
        shown = answer.shown and answer.stored is not None
        places = (answer.prompt_index, len(self.messages) - 1) if shown else ()
        ids = [self.messages[place].id for place in places]

        def read() -> tuple[list[Conversation], list[Variants]]:
            return self._list(), [self.store.variants(i) for i in ids if i is not None]

        def done(found: tuple[list[Conversation], list[Variants]]) -> None:
            rows, variants = found
            self.answer = None
            self.listed.emit(rows)
            for place, versions in zip(places, variants, strict=False):
                self.messages[place] = replace(self.messages[place], variants=versions)
                self.relabelled.emit(place, self.messages[place])
            self.idle.emit()

        self._submit(read, done, write=False, error=self._abandon)

    def shutdown(self) -> None:
        """Stop the answer, end the worker, then let the store's thread finish its writes."""
        self.generation.shutdown()
        # A stopped answer's last signals are still queued for this thread: deliver them, so
        # the answer is saved with its receipt.
        QCoreApplication.sendPostedEvents()
        self.jobs.shutdown()
        self.answer = None


def _ignore(_result: object) -> None:
    """A write whose result nobody needs."""
