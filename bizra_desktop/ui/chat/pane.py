"""The chat side of the window: the messages, the model and preset pickers, the answer's
buttons and the prompt box. It draws what the chat controller reports and asks it for the rest;
an answer's text is appended as it streams and drawn at most once a frame (DESIGN rule 4)."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from bizra_desktop.core.pipeline import Loaded, Routed
from bizra_desktop.core.presets import PresetStore
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui import theme
from bizra_desktop.ui.accessibility import describe
from bizra_desktop.ui.chat.controller import ChatController
from bizra_desktop.ui.chat.message_view import MessageView
from bizra_desktop.ui.chat.messages import ChatMessage
from bizra_desktop.ui.chat.view import ChatView, PromptEdit
from bizra_desktop.ui.preset_picker import PresetPicker

EMPTY_CHAT_HINT = "Ask anything. BIZRA picks the model that fits the question."
STARTER_ONLY_HINT = (
    "Ask anything — but no Qwen2.5 tier is installed yet, so the tiny built-in starter model "
    "(SmolLM2-135M) answers every prompt.<br><a href='guide'>Open the first-run guide</a> to "
    "download the tiers that fit this computer, or <a href='models'>manage models</a> "
    "(Ctrl+M) to import a GGUF file you have."
)
EDIT_NOTE = "Editing an earlier prompt: Send starts a new branch from it (Esc cancels)."
RENDER_INTERVAL_MS = 16  # at most ~60 renders a second, however fast tokens come


@dataclass
class _Live:
    """The answer being drawn: its view, the text not drawn yet, when its model was ready."""

    view: MessageView
    pending: list[str] = field(default_factory=list)
    loaded_at: float | None = None
    ttft_ms: float | None = None


class ChatPane(QWidget):
    receipt_requested = Signal(str)  # a receipt link's hash

    def __init__(self, controller: ChatController, presets: PresetStore, tier_pin: str) -> None:
        super().__init__()
        self.controller = controller
        self.chat = ChatView()
        self.prompt = PromptEdit()
        self.send_button = QPushButton("Send")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.regenerate_button = QPushButton("Regenerate")
        self.bigger_button = QPushButton("Ask a bigger model")
        self.tier_picker = QComboBox()
        self.tier_picker.addItem("Auto", "auto")
        for tier in Tier:
            self.tier_picker.addItem(tier.display, tier.name.lower())
        self.tier_picker.setCurrentIndex(max(0, self.tier_picker.findData(tier_pin)))
        self.preset_picker = PresetPicker(presets)
        controls = QHBoxLayout()
        for label, picker in (("Model:", self.tier_picker), ("Preset:", self.preset_picker)):
            controls.addWidget(QLabel(label))
            controls.addWidget(picker)
        controls.addStretch(1)
        for button in (self.regenerate_button, self.bigger_button, self.stop_button):
            controls.addWidget(button)
        entry = QHBoxLayout()
        entry.addWidget(self.prompt, 1)
        entry.addWidget(self.send_button)
        self.edit_note = QLabel(EDIT_NOTE)
        self.edit_note.setObjectName("edit-note")
        self.edit_note.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chat, 1)
        layout.addLayout(controls)
        layout.addWidget(self.edit_note)
        layout.addLayout(entry)
        self.live: _Live | None = None
        self.render_timer = QTimer(self)
        self.render_timer.setInterval(RENDER_INTERVAL_MS)
        self.render_timer.timeout.connect(self._render_pending)
        self._describe()
        self._wire()
        self.update_controls()

    def _describe(self) -> None:
        for widget, name, description in (
            (self.chat, "Conversation", "The messages of this conversation, oldest first."),
            (self.tier_picker, "Model", "Auto lets BIZRA pick the model tier; or pin one tier."),
            (self.regenerate_button, "Regenerate", "Answer the last prompt again."),
            (
                self.bigger_button,
                "Ask a bigger model",
                "Answer the last prompt again with the next bigger tier.",
            ),
            (self.stop_button, "Stop", "Stop the answer being written (Esc)."),
            (self.prompt, "Message", "Your prompt: Enter sends, Shift+Enter starts a new line."),
            (self.send_button, "Send", "Send the prompt."),
        ):
            describe(widget, name, description)

    def tab_order(self) -> tuple[QWidget, ...]:
        """The chat's controls in Tab order (the messages sit between them and the prompt)."""
        return (
            self.chat, self.tier_picker, self.preset_picker, self.regenerate_button,
            self.bigger_button, self.stop_button, self.prompt, self.send_button,
        )  # fmt: skip

    def _wire(self) -> None:
        controller = self.controller
        controller.opened.connect(lambda _conversation, messages: self.show_messages(messages))
        controller.appended.connect(self._show)
        controller.removed.connect(lambda index: self.chat.remove(self.chat.messages()[index]))
        controller.reloaded.connect(self.show_messages)
        controller.relabelled.connect(
            lambda index, message: self.chat.messages()[index].variants.show_variants(
                message.variants
            )
        )
        controller.editing.connect(self._on_editing)
        controller.started.connect(self._on_started)
        controller.routed.connect(self._on_routed)
        controller.loaded.connect(self._on_loaded)
        controller.token.connect(self._on_token)
        controller.answered.connect(self._on_answered)
        controller.failed.connect(self._on_failed)
        controller.idle.connect(self.update_controls)
        self.stop_button.clicked.connect(controller.stop)
        # Not connected directly: `clicked` would hand its checked flag over as the pin.
        self.regenerate_button.clicked.connect(lambda: controller.regenerate())  # noqa: PLW0108
        self.bigger_button.clicked.connect(controller.ask_bigger)
        theme.manager().changed.connect(self.chat.restyle)

    def show_hint(self, tiers: bool) -> None:
        """What an empty chat says: with no tier (`tiers` False), who answers and what to do."""
        self.chat.set_hint(EMPTY_CHAT_HINT if tiers else STARTER_ONLY_HINT)

    def show_messages(self, messages: Sequence[ChatMessage]) -> None:
        self._end_live()
        self.chat.clear()
        for message in messages:
            self._show(message)
        self.update_controls()

    def _on_editing(self, prompt: ChatMessage | None) -> None:
        """The prompt box holds an earlier prompt to edit (or no longer does)."""
        self.edit_note.setVisible(prompt is not None)
        if prompt is not None:
            self.prompt.setPlainText(prompt.text)
            self.prompt.setFocus()

    def _add(self, view: MessageView) -> MessageView:
        """A message at the end, its Edit and version switch asking the controller."""
        place = lambda: self.chat.messages().index(view)  # noqa: E731 - the view's place now
        view.variants.step.connect(lambda step: self.controller.switch(place(), step))
        view.edit_requested.connect(lambda: self.controller.begin_edit(place()))
        return self.chat.add(view)

    def _show(self, message: ChatMessage) -> MessageView:
        view = self._add(MessageView(message.role, message.text))
        view.variants.show_variants(message.variants)
        view.set_editable(True)
        if message.role == "assistant":
            self._dress(view, message)
        elif message.role == "error":
            colour = theme.current().error_text
            view.set_figures(f"<span style='color:{colour}'>{html.escape(message.text)}</span>")
            view.retry_requested.connect(self.controller.regenerate)
        self.update_controls()
        return view

    def _dress(self, view: MessageView, message: ChatMessage) -> None:
        """An answer's badge, runtime and figures, from its routing as kept."""
        meta = message.meta
        view.receipt_requested.connect(self.receipt_requested)
        view.set_badge(
            meta.get("complexity", "?"),
            meta.get("tier", "?"),
            meta.get("model", "?"),
            "\n".join(f"• {reason}" for reason in meta.get("reasons", [])),
            meta.get("stand_in"),
        )
        view.set_runtime(meta.get("runtime", meta.get("backend", "")))
        view.set_figures(message.figures_html())

    # --- the answer being written ---------------------------------------------------------

    def _on_started(self) -> None:
        view = self._add(MessageView("assistant"))
        view.set_figures("<i>routing…</i>")
        self.live = _Live(view)
        self.render_timer.start()
        self.update_controls()

    def _on_routed(self, routed: Routed) -> None:
        if self.live is None:
            return
        decision = routed.decision
        self.live.view.set_badge(
            decision.complexity.label,
            decision.tier.name,
            decision.model.name,
            "\n".join(f"• {reason}" for reason in (*routed.analysis.reasons, *decision.reasons)),
            decision.stand_in,
        )
        self.live.view.set_figures("<i>waiting for the model…</i>")

    def _on_loaded(self, loaded: Loaded, _model_name: str | None) -> None:
        if self.live is not None:
            self.live.loaded_at = time.perf_counter()
            self.live.view.set_runtime(loaded.runtime, loaded.gpu_fallback or "")

    def _on_token(self, text: str, tokens_per_s: float) -> None:
        live = self.live
        if live is None:
            return
        if live.ttft_ms is None and live.loaded_at is not None:
            live.ttft_ms = (time.perf_counter() - live.loaded_at) * 1000
        live.pending.append(text)
        if tokens_per_s:
            live.view.set_figures(
                f"TTFT {live.ttft_ms or 0:.0f} ms · {tokens_per_s:.1f} tok/s · generating…"
            )

    def _render_pending(self) -> None:
        live = self.live
        if live is not None and live.pending:
            live.view.body.append_plain("".join(live.pending))
            live.pending.clear()

    def _on_answered(self, message: ChatMessage) -> None:
        live = self._end_live()
        if live is not None:
            live.view.body.set_markdown(message.text)
            self._dress(live.view, message)

    def _on_failed(self) -> None:
        live = self._end_live()
        if live is not None:
            self.chat.remove(live.view)

    def _end_live(self) -> _Live | None:
        self._render_pending()
        self.render_timer.stop()
        live, self.live = self.live, None
        return live

    def update_controls(self) -> None:
        busy = self.controller.answer is not None
        has_exchange = bool(self.controller.messages)
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)
        self.regenerate_button.setEnabled(not busy and has_exchange)
        self.bigger_button.setEnabled(not busy and has_exchange)

    def shutdown(self) -> None:
        self.render_timer.stop()
