"""The main window: conversations on the left, the chat on the right, status at the bottom."""

from __future__ import annotations

import asyncio
import html
import itertools
import threading
import time
from dataclasses import dataclass, field, replace

from PySide6.QtCore import QCoreApplication, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from bizra_desktop.core.api import ApiServer, start_api_server
from bizra_desktop.core.conversations import ConversationStore, Message, title_from_prompt
from bizra_desktop.core.feedback import EscalationMemory
from bizra_desktop.core.hardware import process_memory
from bizra_desktop.core.models.recommend import Machine
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import (
    Finished,
    Loaded,
    Pipeline,
    PromptError,
    Routed,
    RunOptions,
    clean_prompt,
)
from bizra_desktop.core.presets import PresetStore
from bizra_desktop.core.remote import load_remote_tiers
from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.settings import Settings, load_settings, save_settings
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui import theme
from bizra_desktop.ui.accessibility import describe
from bizra_desktop.ui.chat.message_view import MessageView
from bizra_desktop.ui.chat.view import ChatView, PromptEdit
from bizra_desktop.ui.chat_export_actions import ChatExportActions
from bizra_desktop.ui.conversation_list import ConversationIdRole, ConversationListModel
from bizra_desktop.ui.first_run import FirstRunGuide
from bizra_desktop.ui.preset_picker import PresetPicker
from bizra_desktop.ui.settings_dialog import GpuSearch, SettingsDialog
from bizra_desktop.ui.shortcuts_dialog import ShortcutsDialog
from bizra_desktop.ui.workers import WorkerThread

EMPTY_CHAT_HINT = "Ask anything. BIZRA picks the model that fits the question."
STARTER_ONLY_HINT = (
    "Ask anything — but no Qwen2.5 tier is installed yet, so the tiny built-in starter model "
    "(SmolLM2-135M) answers every prompt.<br><a href='guide'>Open the first-run guide</a> to "
    "download the tiers that fit this computer, or <a href='models'>manage models</a> "
    "(Ctrl+M) to import a GGUF file you have."
)
RENDER_INTERVAL_MS = 16  # at most ~60 renders a second, however fast tokens come
STATUS_INTERVAL_MS = 2000


@dataclass
class _Answer:
    """The answer being generated right now."""

    request_id: int
    prompt: str
    view: MessageView
    pending: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    routed: Routed | None = None
    loaded_at: float | None = None
    ttft_ms: float | None = None


class MainWindow(QMainWindow):
    def __init__(self, paths: DataPaths) -> None:
        super().__init__()
        self._gpu_search: GpuSearch | None = None  # the Settings dialog's, while it looks
        self.paths = paths.ensure()
        self.setWindowTitle("BIZRA Desktop")
        self.resize(1100, 720)
        self.settings = load_settings(paths.settings)
        theme.manager().set_choice(self.settings.theme)
        self.store = ConversationStore(paths.database)
        self.presets = PresetStore(paths.database)
        self.feedback = EscalationMemory(paths.database)
        self.pipeline = Pipeline(paths, feedback=self.feedback)
        self.worker = WorkerThread(self.pipeline)
        self.conversation_id: int | None = None
        self.answer: _Answer | None = None
        self.api_server: ApiServer | None = None
        self._request_ids = 0
        self._build()
        self._wire()
        self.guide: FirstRunGuide | None = None
        self.conversations.refresh()
        if self.conversations.rowCount():
            self.list_view.setCurrentIndex(self.conversations.index(0))
        self.update_empty_hint()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.conversations = ConversationListModel(self.store)
        self.search = QLineEdit(placeholderText="Search conversations")
        self.search.setClearButtonEnabled(True)
        self.list_view = QListView()
        self.list_view.setModel(self.conversations)
        self.new_button = QPushButton("New chat")
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        side_buttons = QHBoxLayout()
        for button in (self.new_button, self.rename_button, self.delete_button):
            side_buttons.addWidget(button)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.search)
        side_layout.addWidget(self.list_view, 1)
        side_layout.addLayout(side_buttons)

        self.chat = ChatView()
        self.prompt = PromptEdit()
        self.send_button = QPushButton("Send")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.setEnabled(False)
        self.regenerate_button = QPushButton("Regenerate")
        self.bigger_button = QPushButton("Ask a bigger model")
        self.tier_picker = QComboBox()
        self.tier_picker.addItem("Auto", "auto")
        for tier in Tier:
            self.tier_picker.addItem(tier.display, tier.name.lower())
        self.tier_picker.setCurrentIndex(max(0, self.tier_picker.findData(self.settings.tier_pin)))
        self.preset_picker = PresetPicker(self.presets)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Model:"))
        controls.addWidget(self.tier_picker)
        controls.addWidget(QLabel("Preset:"))
        controls.addWidget(self.preset_picker)
        controls.addStretch(1)
        for button in (self.regenerate_button, self.bigger_button, self.stop_button):
            controls.addWidget(button)
        entry = QHBoxLayout()
        entry.addWidget(self.prompt, 1)
        entry.addWidget(self.send_button)
        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.addWidget(self.chat, 1)
        main_layout.addLayout(controls)
        main_layout.addLayout(entry)

        splitter = QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(main)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 840])
        self.setCentralWidget(splitter)
        self._build_status_bar()
        self._build_menus()
        self._describe_controls()
        self._update_controls()

    def _describe_controls(self) -> None:
        """Accessible names and descriptions, and the Tab order: the conversations, then the
        chat's controls, then the prompt and Send (the chat's messages sit between)."""
        for widget, name, description in (
            (
                self.search,
                "Search conversations",
                "Shows only conversations whose title has this text.",
            ),
            (
                self.list_view,
                "Conversations",
                "Your conversations, newest first; Enter or a click opens one.",
            ),
            (self.new_button, "New chat", "Start an empty conversation."),
            (self.rename_button, "Rename", "Rename the selected conversation."),
            (self.delete_button, "Delete", "Delete the selected conversation and its messages."),
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
            (self.cancel_load, "Cancel loading", "Stop loading the model."),
        ):
            describe(widget, name, description)
        order = (
            self.search, self.list_view, self.new_button, self.rename_button,
            self.delete_button, self.chat, self.tier_picker, self.preset_picker,
            self.regenerate_button,
            self.bigger_button, self.stop_button, self.prompt, self.send_button,
        )  # fmt: skip
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

    def _build_status_bar(self) -> None:
        self.backend_label = QLabel("backend: —")
        self.model_label = QLabel("model: none loaded")
        self.memory_label = QLabel()
        self.api_label = QLabel()
        self.api_label.setVisible(False)
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 0)  # busy indicator: llama.cpp reports no load progress
        self.loading_bar.setMaximumWidth(120)
        self.cancel_load = QPushButton("Cancel")
        status = self.statusBar()
        for widget in (self.api_label, self.backend_label, self.model_label, self.memory_label):
            status.addPermanentWidget(widget)
        status.addWidget(self.loading_bar)
        status.addWidget(self.cancel_load)
        self._show_loading(None)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(STATUS_INTERVAL_MS)
        self.status_timer.timeout.connect(self._update_memory)
        self.status_timer.start()
        self._update_memory()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = QAction("&New chat", self, shortcut=QKeySequence("Ctrl+N"))
        self.settings_action = QAction("&Settings…", self, shortcut=QKeySequence("Ctrl+,"))
        quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        for action in (self.new_action, self.settings_action, quit_action):
            file_menu.addAction(action)
        self.chat_export = ChatExportActions(
            self, self.store, lambda: self.pipeline.chain, lambda: self.conversation_id
        )
        self.chat_export.add_to(file_menu, before=self.settings_action)
        receipts_menu = self.menuBar().addMenu("&Receipts")
        self.browse_receipts_action = QAction("&Browse receipts…", self)
        self.browse_receipts_action.setShortcut(QKeySequence("Ctrl+R"))
        self.verify_action = QAction("&Verify the receipt chain", self)
        receipts_menu.addAction(self.browse_receipts_action)
        receipts_menu.addAction(self.verify_action)
        models_menu = self.menuBar().addMenu("&Models")
        self.manage_models_action = QAction("&Manage models…", self)
        self.manage_models_action.setShortcut(QKeySequence("Ctrl+M"))
        models_menu.addAction(self.manage_models_action)
        routing_menu = self.menuBar().addMenu("R&outing")
        self.reset_learning_action = QAction("&Forget what escalations taught", self)
        routing_menu.addAction(self.reset_learning_action)
        self.save_preset_action = QAction("&Save settings as preset…", self)
        routing_menu.addAction(self.save_preset_action)
        help_menu = self.menuBar().addMenu("&Help")
        self.first_run_action = QAction("&First-run guide…", self)
        help_menu.addAction(self.first_run_action)
        self.shortcuts_action = QAction("&Keyboard shortcuts…", self, shortcut=QKeySequence("F1"))
        help_menu.addAction(self.shortcuts_action)

    def _wire(self) -> None:
        worker = self.worker.worker
        worker.routed.connect(self._on_routed)
        worker.loading.connect(self._on_loading)
        worker.loaded.connect(self._on_loaded)
        worker.token.connect(self._on_token)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self.render_timer = QTimer(self)
        self.render_timer.setInterval(RENDER_INTERVAL_MS)
        self.render_timer.timeout.connect(self._render_pending)
        self.prompt.submitted.connect(self.send)
        self.send_button.clicked.connect(self.send)
        self.stop_button.clicked.connect(self.stop)
        for keys, what, slot in (
            (QKeySequence(Qt.Key.Key_Escape), "Stop the answer", self.stop),
            (QKeySequence("Ctrl+L"), "Go to the message box", self.prompt.setFocus),
            (QKeySequence("Ctrl+F"), "Search conversations", self.search.setFocus),
        ):
            QShortcut(keys, self, slot).setWhatsThis(what)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        theme.manager().changed.connect(self.chat.restyle)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.bigger_button.clicked.connect(self.ask_bigger)
        self.cancel_load.clicked.connect(self.stop)
        self.new_button.clicked.connect(self.new_chat)
        self.new_action.triggered.connect(self.new_chat)
        self.rename_button.clicked.connect(
            lambda: self.list_view.edit(self.list_view.currentIndex())
        )
        self.delete_button.clicked.connect(self._confirm_delete)
        self.search.textChanged.connect(self._on_search)
        self.list_view.selectionModel().currentChanged.connect(self._on_conversation_selected)
        self.tier_picker.currentIndexChanged.connect(self._on_pin_changed)
        self.preset_picker.currentIndexChanged.connect(self._on_preset_changed)
        self.save_preset_action.triggered.connect(
            lambda: self.preset_picker.save_settings_as_preset(self.settings)
        )
        self.settings_action.triggered.connect(self.open_settings)
        self.verify_action.triggered.connect(lambda: asyncio.ensure_future(self.verify_chain()))
        self.reset_learning_action.triggered.connect(self.reset_learning)
        self.browse_receipts_action.triggered.connect(self.open_receipt_browser)
        self.manage_models_action.triggered.connect(self.open_model_manager)
        self.first_run_action.triggered.connect(self.open_first_run_guide)
        self.chat.placeholder.linkActivated.connect(self._on_hint_link)

    # --- conversations ----------------------------------------------------------------------

    def new_chat(self) -> None:
        self.stop()
        self.conversation_id = None
        self.list_view.clearSelection()
        self.list_view.setCurrentIndex(QModelIndex())
        self.chat.clear()
        self.update_empty_hint()  # a tier may have been installed since
        self.prompt.setFocus()
        self._update_controls()

    def _on_search(self, text: str) -> None:
        current = self.conversation_id
        self.conversations.refresh(text)
        row = self.conversations.row_of(current) if current is not None else None
        if row is not None:
            self.list_view.setCurrentIndex(self.conversations.index(row))

    def _on_conversation_selected(self, index: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = index.data(ConversationIdRole) if index.isValid() else None
        if conversation_id is None or conversation_id == self.conversation_id:
            return
        self.stop()
        self.conversation_id = conversation_id
        conversation = self.store.get(conversation_id)
        self.preset_picker.select(conversation.preset if conversation else None)
        self.chat.clear()
        for message in self.store.messages(conversation_id):
            self._show_stored(message)
        self._update_controls()

    def _confirm_delete(self) -> None:
        conversation = self.store.get(self.conversation_id) if self.conversation_id else None
        if conversation is None:
            return
        answer = QMessageBox.question(
            self, "Delete conversation", f"Delete “{conversation.title}” and its messages?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_conversation()

    def delete_conversation(self) -> None:
        if self.conversation_id is None:
            return
        self.store.delete(self.conversation_id)
        self.conversations.refresh()
        self.new_chat()

    def _select_conversation(self, conversation_id: int) -> None:
        self.conversations.refresh()
        row = self.conversations.row_of(conversation_id)
        if row is not None:  # the selection handler ignores the conversation already shown
            self.list_view.setCurrentIndex(self.conversations.index(row))

    # --- sending and streaming ------------------------------------------------------------

    def send(self) -> None:
        try:  # stored as the model sees it, so its commitment can be checked against it
            prompt = clean_prompt(self.prompt.toPlainText())
        except PromptError:
            return
        if self.answer is not None:
            return
        if self.conversation_id is None:
            title, preset = title_from_prompt(prompt), self.preset_picker.currentData()
            self.conversation_id = self.store.create(title, preset).id
        self.store.add_message(self.conversation_id, "user", prompt)
        self._select_conversation(self.conversation_id)
        self.prompt.clear()
        self.chat.add(MessageView("user", prompt))
        self._start(prompt)

    def _history(self) -> tuple[dict[str, str], ...]:
        """Earlier turns of this conversation, without the prompt being answered now."""
        assert self.conversation_id is not None
        turns = [
            {"role": m.role, "content": m.content}
            for m in self.store.messages(self.conversation_id)
            if m.role in ("user", "assistant")
        ]
        if turns and turns[-1]["role"] == "user":
            turns.pop()
        return tuple(turns)

    def _options(self, pin: Tier | None) -> RunOptions:
        chosen = self.tier_picker.currentData()
        if pin is None and chosen != "auto":
            pin = Tier.parse(chosen)
        options = replace(run_defaults(self.settings), pin=pin, history=self._history())
        preset = self.preset_picker.current()
        return options if preset is None else preset.applied_to(options)

    def _start(self, prompt: str, pin: Tier | None = None) -> None:
        self._request_ids += 1
        view = self.chat.add(MessageView("assistant"))
        view.set_figures("<i>routing…</i>")
        view.receipt_requested.connect(self.show_receipt)
        self.answer = _Answer(self._request_ids, prompt, view)
        self.render_timer.start()
        self._update_controls()
        self.worker.worker.request(self._request_ids, prompt, self._options(pin))

    def _current(self, request_id: int) -> _Answer | None:
        answer = self.answer
        return answer if answer is not None and answer.request_id == request_id else None

    def _on_routed(self, request_id: int, routed: Routed) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        answer.routed = routed
        decision = routed.decision
        answer.view.set_badge(
            decision.complexity.label,
            decision.tier.name,
            decision.model.name,
            "\n".join(f"• {reason}" for reason in (*routed.analysis.reasons, *decision.reasons)),
            decision.stand_in,
        )
        answer.view.set_figures("<i>waiting for the model…</i>")

    def _on_loading(self, request_id: int, model_name: str) -> None:
        if self._current(request_id) is not None:
            self._show_loading(model_name)

    def _on_loaded(self, request_id: int, loaded: Loaded) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        self._show_loading(None)
        answer.loaded_at = time.perf_counter()
        self.backend_label.setText(f"backend: {loaded.runtime}")
        answer.view.set_runtime(loaded.runtime, loaded.gpu_fallback or "")
        if answer.routed is not None:
            self.model_label.setText(f"model: {answer.routed.decision.model.name}")

    def _on_token(self, request_id: int, text: str, tokens_per_s: float) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        if answer.ttft_ms is None and answer.loaded_at is not None:
            answer.ttft_ms = (time.perf_counter() - answer.loaded_at) * 1000
        answer.pending.append(text)
        answer.text.append(text)
        if tokens_per_s:
            answer.view.set_figures(
                f"TTFT {answer.ttft_ms or 0:.0f} ms · {tokens_per_s:.1f} tok/s · generating…"
            )

    def _render_pending(self) -> None:
        answer = self.answer
        if answer is not None and answer.pending:
            answer.view.body.append_plain("".join(answer.pending))
            answer.pending.clear()

    def _on_finished(self, request_id: int, result: Finished) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        self._end_answer()
        stats, receipt = result.stats, result.receipt
        answer.view.body.set_markdown(result.text)
        figures = (
            f"{stats.completion_tokens} tokens · TTFT {stats.ttft_ms:.0f} ms · "
            f"{stats.tokens_per_s:.1f} tok/s · {html.escape(stats.backend)} · "
            f"<a href='receipt:{receipt.hash}'>receipt {receipt.hash[:12]}…</a>"
        )
        if stats.finish_reason == "stopped":
            figures += " · stopped by you"
        if result.note:
            figures += f"<br><i>{html.escape(result.note)}</i>"
        answer.view.set_figures(figures)
        meta = {**result.message_meta(), "figures": figures}
        if self.conversation_id is not None:
            self.store.add_message(
                self.conversation_id,
                "assistant",
                result.text,
                receipt_hash=receipt.hash,
                meta=meta,
            )
            self._select_conversation(self.conversation_id)
        answer.view.setProperty("meta", meta)

    def _on_failed(self, request_id: int, kind: str, message: str) -> None:
        answer = self._current(request_id)
        if answer is None:
            return
        self._end_answer()
        self._show_loading(None)
        self.chat.remove(answer.view)
        if self.conversation_id is not None:
            stored = self.store.add_message(
                self.conversation_id, "error", message, meta={"prompt": answer.prompt, "kind": kind}
            )
            self._show_stored(stored)

    def _end_answer(self) -> None:
        self._render_pending()
        self.render_timer.stop()
        self.answer = None
        self._update_controls()

    def stop(self) -> None:
        if self.answer is not None:
            self.worker.worker.stop()

    # --- re-running -----------------------------------------------------------------------

    def _last_exchange(self) -> tuple[str, MessageView | None] | None:
        """The last prompt and the answer (or error) shown after it."""
        views = self.chat.messages()
        users = [view for view in views if view.role == "user"]
        if not users:
            return None
        last_user = users[-1]
        after = views[views.index(last_user) + 1 :]
        return last_user.body.toPlainText(), (after[-1] if after else None)

    def _drop_last_answer(self, view: MessageView | None) -> None:
        if view is None or self.conversation_id is None:
            return
        stored = self.store.messages(self.conversation_id)
        if stored and stored[-1].role in ("assistant", "error"):
            self.store.delete_message(stored[-1].id)
        self.chat.remove(view)

    def regenerate(self, pin: Tier | None = None) -> None:
        exchange = self._last_exchange()
        if self.answer is not None or exchange is None:
            return
        prompt, view = exchange
        self._drop_last_answer(view)
        self._start(prompt, pin)

    def ask_bigger(self) -> None:
        exchange = self._last_exchange()
        if self.answer is not None or exchange is None or exchange[1] is None:
            return
        meta = exchange[1].property("meta") or {}
        if "tier" not in meta:
            return
        current = Tier.parse(meta["tier"])
        if current is Tier.LARGE:
            return
        bigger = Tier(current + 1)
        self.feedback.record(meta.get("kind") or "general", current, bigger)
        self.regenerate(pin=bigger)

    def reset_learning(self) -> None:
        removed = self.feedback.reset()
        self.statusBar().showMessage(f"Forgot {removed} escalations: routing starts fresh.", 5000)

    # --- receipts, settings, status -------------------------------------------------------

    def show_receipt(self, receipt_hash: str) -> None:
        receipt = self.pipeline.chain.get(receipt_hash)
        viewer = QPlainTextEdit()
        viewer.setReadOnly(True)
        viewer.setWindowTitle(f"Receipt #{receipt.seq}" if receipt else "Receipt not found")
        viewer.setPlainText(receipt.canonical_json() if receipt else receipt_hash)
        viewer.resize(640, 360)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.setParent(self, Qt.WindowType.Window)
        viewer.show()

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self)
        dialog.show()
        return dialog

    def open_receipt_browser(self) -> None:
        from bizra_desktop.ui.receipts.browser import ReceiptBrowser  # noqa: PLC0415 - on demand

        browser = ReceiptBrowser(self.paths, self.pipeline.chain, self)
        browser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        browser.show()

    def open_model_manager(self) -> None:
        from bizra_desktop.ui.models.manager_window import ModelManagerWindow  # noqa: PLC0415

        manager = ModelManagerWindow(self.paths, self.pipeline, self)
        manager.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        manager.destroyed.connect(self.update_empty_hint)  # what it installed or deleted
        manager.show()

    def open_first_run_guide(self, machine: Machine | None = None) -> FirstRunGuide:
        """The guide (one per window; `machine`: recorded hardware instead of this one's)."""
        if self.guide is None:
            self.guide = FirstRunGuide(self.paths, self, machine)
            self.guide.done.connect(self._on_guide_done)
            self.guide.installed.connect(self.update_empty_hint)
        else:
            self.guide.refresh()
        self.guide.show()
        self.guide.activateWindow()
        return self.guide

    def maybe_open_first_run_guide(self) -> FirstRunGuide | None:
        """On a first start: unless the guide was finished before, or a tier is installed."""
        if self.settings.first_run_done or self.pipeline.store.has_installed():
            return None
        return self.open_first_run_guide()

    def _on_guide_done(self) -> None:
        if not self.settings.first_run_done:
            self.apply_settings(replace(self.settings, first_run_done=True))
        self.update_empty_hint()

    def update_empty_hint(self) -> None:
        """What an empty chat says: with no tier installed, who answers and what to do next."""
        if self.pipeline.store.has_installed() or load_remote_tiers(self.paths.remote_tiers):
            self.chat.set_hint(EMPTY_CHAT_HINT)
        else:
            self.chat.set_hint(STARTER_ONLY_HINT)

    def _on_hint_link(self, link: str) -> None:
        if link == "guide":
            self.open_first_run_guide()
        elif link == "models":
            self.open_model_manager()

    async def verify_chain(self) -> None:
        self.statusBar().showMessage("Verifying the receipt chain…")
        report = await asyncio.get_running_loop().run_in_executor(None, self.pipeline.chain.verify)
        self.statusBar().showMessage(report.message, 10_000)
        if not report.ok:
            QMessageBox.warning(self, "Receipt chain broken", report.message)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, str(self.paths.root), None, self)
        # Kept by the window: a search that outlives the dialog reports to nobody, and the
        # object is let go on this thread, where it lives.
        self._gpu_search = GpuSearch()
        self._gpu_search.found.connect(dialog.show_gpus)
        threading.Thread(target=self._gpu_search.run, name="bizra-gpu-search", daemon=True).start()
        while dialog.exec():
            try:
                self.apply_settings(dialog.result_settings())
                return
            except ValueError as error:  # the schema names the field and the allowed values
                QMessageBox.warning(self, "Settings not saved", str(error))

    def apply_settings(self, settings: Settings) -> None:
        api_changed = (settings.api_enabled, settings.api_port, settings.api_key) != (
            self.settings.api_enabled,
            self.settings.api_port,
            self.settings.api_key,
        )
        self.settings = settings
        save_settings(self.paths.settings, settings)
        theme.manager().set_choice(settings.theme)
        if api_changed:
            try:
                asyncio.get_running_loop().create_task(self.sync_api_server())
            except RuntimeError:  # no qasync loop (a test driving the window): nothing to serve on
                self.statusBar().showMessage("The local API starts with the app's event loop.")

    async def sync_api_server(self) -> None:
        """Start, restart or stop the local OpenAI-compatible API to match the settings."""
        if self.api_server is not None:
            self.api_server.close()
            await self.api_server.wait_closed()
            self.api_server = None
        self.api_label.setVisible(self.settings.api_enabled)
        if not self.settings.api_enabled:
            return
        port = self.settings.api_port
        try:
            self.api_server = await start_api_server(
                self.pipeline,
                "127.0.0.1",
                port,
                self.settings.api_key,
                defaults=lambda: run_defaults(self.settings),
            )
        except OSError as error:
            self.api_label.setText(f"API: off (port {port}: {error.strerror or error})")
            return
        self.api_label.setText(f"API: http://127.0.0.1:{port}/v1")

    def _on_preset_changed(self) -> None:
        """The preset picked applies to this conversation from its next prompt on (and to a
        new chat's first)."""
        if self.conversation_id is not None:
            self.store.set_preset(self.conversation_id, self.preset_picker.currentData())

    def _on_pin_changed(self) -> None:
        self.apply_settings(replace(self.settings, tier_pin=self.tier_picker.currentData()))

    def _show_loading(self, model_name: str | None) -> None:
        self.loading_bar.setVisible(model_name is not None)
        self.cancel_load.setVisible(model_name is not None)
        if model_name is not None:
            self.statusBar().showMessage(f"Loading {model_name}…")
        else:
            self.statusBar().clearMessage()

    def _update_memory(self) -> None:
        own = process_memory(None) or 0
        host = process_memory(self.pipeline.host.pid) if self.pipeline.host.pid else 0
        self.memory_label.setText(f"memory: {(own + (host or 0)) / 1e6:,.0f} MB")

    def _update_controls(self) -> None:
        busy = self.answer is not None
        has_exchange = bool(self.chat.messages())
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)
        self.regenerate_button.setEnabled(not busy and has_exchange)
        self.bigger_button.setEnabled(not busy and has_exchange)

    def _show_stored(self, message: Message) -> None:
        view = self.chat.add(MessageView(message.role, message.content))
        meta = dict(message.meta)
        if message.role == "assistant":
            view.receipt_requested.connect(self.show_receipt)
            view.set_badge(
                meta.get("complexity", "?"),
                meta.get("tier", "?"),
                meta.get("model", "?"),
                "\n".join(f"• {reason}" for reason in meta.get("reasons", [])),
                meta.get("stand_in"),
            )
            view.set_runtime(meta.get("runtime", meta.get("backend", "")))
            view.set_figures(meta.get("figures", ""))
            view.setProperty("meta", meta)
        elif message.role == "error":
            colour = theme.current().error_text
            view.set_figures(f"<span style='color:{colour}'>{html.escape(message.content)}</span>")
            view.retry_requested.connect(self.regenerate)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.guide is not None:  # an unfinished download pauses; the manager resumes it
            self.guide.shutdown()
            self.guide.close()
        if self.api_server is not None:
            self.api_server.close()  # its running answer is stopped with the pipeline below
        self.status_timer.stop()
        self.render_timer.stop()
        self.worker.shutdown()
        self.chat_export.shutdown()
        # A stopped answer's last signals are still queued for this thread: deliver them while
        # the stores are open, so the answer is saved with its receipt, then ignore any more.
        QCoreApplication.sendPostedEvents()
        self.answer = None
        self.store.close()
        self.presets.close()
        self.feedback.close()
        super().closeEvent(event)
