"""The main window: conversations on the left, the chat on the right, status at the bottom.

It puts the parts together and opens the dialogs; the chat controller (ui/chat/controller.py)
does the conversations' and prompts' work off the GUI thread, the panes draw what it reports.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMessageBox, QSplitter, QWidget

from bizra_desktop.core.conversations import Conversation, ConversationStore
from bizra_desktop.core.feedback import EscalationMemory
from bizra_desktop.core.hardware import list_gpus
from bizra_desktop.core.models.recommend import Machine
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline, PromptError, RunOptions, clean_prompt
from bizra_desktop.core.presets import PresetStore
from bizra_desktop.core.remote import load_remote_tiers
from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.settings import Settings, load_settings, save_settings
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui import theme
from bizra_desktop.ui.background import Task, TaskRunner
from bizra_desktop.ui.chat.controller import Answer, ChatController
from bizra_desktop.ui.chat.pane import ChatPane
from bizra_desktop.ui.chat_export_actions import ChatExportActions
from bizra_desktop.ui.conversation_list import ConversationSidebar
from bizra_desktop.ui.first_run import FirstRunGuide
from bizra_desktop.ui.receipts.viewer import show_receipt
from bizra_desktop.ui.settings_dialog import SettingsDialog
from bizra_desktop.ui.shortcuts_dialog import ShortcutsDialog
from bizra_desktop.ui.status_bar import StatusBar
from bizra_desktop.ui.window_menus import build_menus

_YES = QMessageBox.StandardButton.Yes


class MainWindow(QMainWindow):
    settings_applied = Signal(object)  # Settings, saved: the app object follows the API's
    closing = Signal()  # before the window stops its worker and closes its stores

    def __init__(self, paths: DataPaths) -> None:
        super().__init__()
        self.paths = paths.ensure()
        self.setWindowTitle("BIZRA Desktop")
        self.resize(1100, 720)
        self.settings = load_settings(paths.settings)
        theme.manager().set_choice(self.settings.theme)
        # Opened (and migrated) here, so that a data folder that cannot be used stops the
        # start with its reason; every later read and write runs on the controller's thread.
        self.store = ConversationStore(paths.database)
        self.presets = PresetStore(paths.database)
        self.feedback = EscalationMemory(paths.database)
        self.pipeline = Pipeline(paths, feedback=self.feedback)
        self.controller = ChatController(self.pipeline, self.store, self.feedback, self._options)
        self.jobs = TaskRunner("bizra-window-jobs", self)  # a chain walk, a search for GPUs
        self.guide: FirstRunGuide | None = None
        self._listed_once = False
        self._build()
        self._wire()
        self.controller.refresh()
        self.update_empty_hint()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.sidebar = ConversationSidebar()
        self.pane = ChatPane(self.controller, self.presets, self.settings.tier_pin)
        splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.pane)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 840])
        self.setCentralWidget(splitter)
        self.status = StatusBar(lambda: self.pipeline.host.pid)
        self.setStatusBar(self.status)
        self.chat_export = ChatExportActions(
            self,
            self.store,
            lambda: self.pipeline.chain,
            lambda: self.conversation_id,
            self.sidebar.conversations.title_of,
        )
        self.menu_actions = build_menus(self, self.chat_export)
        self.menu_actions.quit_action.triggered.connect(self.close)
        order = (*self.sidebar.tab_order(), *self.pane.tab_order())
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

    def _wire(self) -> None:
        controller, pane, sidebar = self.controller, self.pane, self.sidebar
        menus = self.menu_actions
        controller.listed.connect(self._on_listed)
        controller.opened.connect(self._on_opened)
        controller.loading.connect(self.status.show_loading)
        controller.loaded.connect(self.status.show_loaded)
        controller.failed.connect(lambda: self.status.show_loading(None))
        controller.receipt.connect(lambda found, receipt: show_receipt(self, found, receipt))
        controller.said.connect(lambda text: self.status.showMessage(text, 5000))
        pane.receipt_requested.connect(controller.find_receipt)
        pane.prompt.submitted.connect(self.send)
        pane.send_button.clicked.connect(self.send)
        self.status.cancel_load.clicked.connect(self.stop)
        for keys, what, slot in (
            (QKeySequence(Qt.Key.Key_Escape), "Stop the answer", self.stop),
            (QKeySequence("Ctrl+L"), "Go to the message box", pane.prompt.setFocus),
            (QKeySequence("Ctrl+F"), "Search conversations", sidebar.search.setFocus),
        ):
            QShortcut(keys, self, slot).setWhatsThis(what)
        sidebar.new_button.clicked.connect(self.new_chat)
        menus.new_action.triggered.connect(self.new_chat)
        sidebar.delete_button.clicked.connect(self._confirm_delete)
        sidebar.search.textChanged.connect(controller.refresh)
        sidebar.selected.connect(controller.open)
        sidebar.conversations.renamed.connect(controller.rename)
        pane.tier_picker.currentIndexChanged.connect(self._on_pin_changed)
        pane.preset_picker.currentIndexChanged.connect(
            lambda: controller.set_preset(pane.preset_picker.currentData())
        )
        menus.save_preset_action.triggered.connect(
            lambda: pane.preset_picker.save_settings_as_preset(self.settings)
        )
        menus.settings_action.triggered.connect(self.open_settings)
        menus.verify_action.triggered.connect(self.verify_chain)
        menus.reset_learning_action.triggered.connect(controller.reset_learning)
        menus.browse_receipts_action.triggered.connect(self.open_receipt_browser)
        menus.manage_models_action.triggered.connect(self.open_model_manager)
        menus.first_run_action.triggered.connect(self.open_first_run_guide)
        menus.shortcuts_action.triggered.connect(self.show_shortcuts)
        pane.chat.placeholder.linkActivated.connect(self._on_hint_link)

    # --- conversations and prompts ----------------------------------------------------------

    @property
    def conversation_id(self) -> int | None:
        return self.controller.conversation_id

    @property
    def answer(self) -> Answer | None:
        return self.controller.answer

    def _on_listed(self, rows: list[Conversation]) -> None:
        self.sidebar.show_rows(rows, self.conversation_id)
        if not self._listed_once and rows and self.conversation_id is None:
            self.controller.open(rows[0].id)  # at the start: the latest conversation
        self._listed_once = True

    def _on_opened(self, conversation: Conversation | None, _messages: object) -> None:
        self.sidebar.select(conversation.id if conversation else None)
        self.pane.preset_picker.select(conversation.preset if conversation else None)

    def new_chat(self) -> None:
        self.controller.new_chat()
        self.update_empty_hint()  # a tier may have been installed since
        self.pane.prompt.setFocus()

    def _confirm_delete(self) -> None:
        title = self.sidebar.conversations.title_of(self.conversation_id)
        question = f"Delete “{title}” and its messages?"
        if title and QMessageBox.question(self, "Delete conversation", question) == _YES:
            self.delete_conversation()

    def delete_conversation(self) -> None:
        self.controller.delete()
        self.new_chat()

    def send(self) -> None:
        try:  # stored as the model sees it, so its commitment can be checked against it
            prompt = clean_prompt(self.pane.prompt.toPlainText())
        except PromptError:
            return
        if self.answer is not None:
            return
        self.pane.prompt.clear()
        self.controller.send(prompt, self.pane.preset_picker.currentData())

    def _options(self, pin: Tier | None) -> RunOptions:
        """What the settings and the pickers ask of the next answer (`pin`: a tier asked for)."""
        chosen = self.pane.tier_picker.currentData()
        if pin is None and chosen != "auto":
            pin = Tier.parse(chosen)
        options = replace(run_defaults(self.settings), pin=pin)
        preset = self.pane.preset_picker.current()
        return options if preset is None else preset.applied_to(options)

    def stop(self) -> None:
        self.controller.stop()

    # --- receipts, dialogs, settings --------------------------------------------------------

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
        tiers = self.pipeline.store.has_installed() or load_remote_tiers(self.paths.remote_tiers)
        self.pane.show_hint(bool(tiers))

    def _on_hint_link(self, link: str) -> None:
        if link == "guide":
            self.open_first_run_guide()
        elif link == "models":
            self.open_model_manager()

    def verify_chain(self) -> None:
        self.status.showMessage("Verifying the receipt chain…")

        def report(message: str, ok: bool) -> None:
            self.status.showMessage(message, 10_000)
            if not ok:
                QMessageBox.warning(self, "Receipt chain broken", message)

        chain = self.pipeline.chain
        self.jobs.submit(
            Task(lambda _progress: chain.verify(), lambda found: report(found.message, found.ok))
        )

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, str(self.paths.root), None, self)
        # nvidia-smi may take seconds: the dialog opens at once and lists the GPUs when known.
        self.jobs.submit(Task(lambda _progress: list_gpus(), dialog.show_gpus))
        while dialog.exec():
            try:
                self.apply_settings(dialog.result_settings())
                return
            except ValueError as error:  # the schema names the field and the allowed values
                QMessageBox.warning(self, "Settings not saved", str(error))

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        save_settings(self.paths.settings, settings)
        theme.manager().set_choice(settings.theme)
        self.settings_applied.emit(settings)

    def _on_pin_changed(self) -> None:
        self.apply_settings(replace(self.settings, tier_pin=self.pane.tier_picker.currentData()))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.guide is not None:  # an unfinished download pauses; the manager resumes it
            self.guide.shutdown()
            self.guide.close()
        self.closing.emit()  # the local API stops its answer; the pipeline ends below
        self.status.timer.stop()
        self.pane.shutdown()
        self.controller.shutdown()  # a stopped answer is saved with its receipt first
        self.jobs.shutdown()
        self.chat_export.shutdown()
        QCoreApplication.sendPostedEvents()  # what the threads reported last, to no one now
        self.store.close()
        self.presets.close()
        self.feedback.close()
        super().closeEvent(event)
