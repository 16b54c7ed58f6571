"""File → Export conversation… (Markdown, HTML, JSON) and File → Print… (to PDF).

Building an export reads the conversation and walks the receipt chain for the inclusion
proofs (seconds for a long chain), so it runs on a worker thread (a TaskRunner); only the
printing, which Qt's text layout does, runs on the GUI thread, on the HTML the worker made.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtGui import QAction, QKeySequence, QPageLayout, QPageSize, QTextDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.chat_document import chat_document
from bizra_desktop.core.receipts.chat_export import export_chat
from bizra_desktop.core.receipts.chat_render import render
from bizra_desktop.ui.background import Task, TaskRunner

# What the save dialog offers, and the format each filter writes.
EXPORT_FILTERS = {"Markdown (*.md)": "md", "HTML (*.html)": "html", "JSON (*.json)": "json"}
PDF_FILTER = "PDF (*.pdf)"
T = TypeVar("T")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


class ChatExportActions(QObject):
    """The two File-menu actions on the conversation the window shows. `done(message, ok)`
    reports each export or print, as the status bar shows it."""

    done = Signal(str, bool)

    def __init__(
        self,
        window: QMainWindow,
        store: ConversationStore,
        chain: Callable[[], ReceiptChain],
        conversation: Callable[[], int | None],
        title: Callable[[int], str | None],
    ) -> None:
        """`conversation`: the one shown; `title`: a conversation's title as the window lists
        it (the save dialog's file name; the store is read on the worker thread only)."""
        super().__init__(window)
        self._window, self._store, self._chain = window, store, chain
        self._conversation, self._title = conversation, title
        self._jobs: TaskRunner | None = None  # started by the first export
        self.export_action = QAction("&Export conversation…", window)
        self.export_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.export_action.triggered.connect(self.ask_export)
        self.print_action = QAction("&Print…", window)
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.print_action.triggered.connect(self.ask_print)
        self.done.connect(lambda message, _ok: self._status(message, 10_000))

    def add_to(self, menu: QMenu, before: QAction) -> None:
        menu.insertActions(before, [self.export_action, self.print_action])
        menu.insertSeparator(before)

    # --- dialogs ------------------------------------------------------------------------------

    def ask_export(self) -> None:
        chosen = self._ask("Export conversation", ".md", ";;".join(EXPORT_FILTERS))
        if chosen is not None:
            path, name = chosen
            fmt = EXPORT_FILTERS.get(name, "md")
            self.export_to(path if path.suffix else path.with_suffix(f".{fmt}"), fmt)

    def ask_print(self) -> None:
        chosen = self._ask("Print conversation to PDF", ".pdf", PDF_FILTER)
        if chosen is not None:
            path = chosen[0]
            pdf = path.suffix.lower() == ".pdf"
            self.print_to(path if pdf else path.with_name(f"{path.name}.pdf"))

    def _ask(self, title: str, suffix: str, filters: str) -> tuple[Path, str] | None:
        """The file the user chose and the filter chosen with it; None if cancelled."""
        conversation_id = self._current()
        if conversation_id is None:
            return None
        path, chosen = QFileDialog.getSaveFileName(
            self._window, title, str(self._default_path(conversation_id, suffix)), filters
        )
        return (Path(path), chosen) if path else None

    # --- the work -----------------------------------------------------------------------------

    def export_to(self, out: Path, fmt: str) -> None:
        """Export the conversation shown to `out` in `fmt` (md, html, json), off the GUI thread."""
        self._run(
            f"Exporting the conversation to {out}…",
            lambda chain, store, conversation_id: export_chat(
                chain, store, conversation_id, out, fmt
            ),
            lambda summary: self._say(summary.describe(out), summary.proven == summary.answers),
            "Nothing was exported",
        )

    def print_to(self, out: Path) -> None:
        """Print the conversation shown, as its HTML export reads, to the PDF file `out`."""
        self._run(
            f"Printing the conversation to {out}…",
            lambda chain, store, conversation_id: render(
                chat_document(chain, store, conversation_id), "html"
            ),
            lambda page: self._print(page.decode("utf-8"), out),
            "Nothing was printed",
        )

    def _run(
        self,
        status: str,
        work: Callable[[ReceiptChain, ConversationStore, int], T],
        done: Callable[[T], None],
        failure: str,
    ) -> None:
        """`work` on the conversation shown, on the worker thread; then `done` here."""
        conversation_id = self._current()
        if conversation_id is None:
            return
        store, chain = self._store, self._chain()
        self._status(status)
        if self._jobs is None:
            self._jobs = TaskRunner("bizra-chat-export", self)
        self._jobs.submit(
            Task(
                lambda _: work(chain, store, conversation_id),
                done,
                error=lambda message: self._say(f"{failure}: {message}", False),
            )
        )

    def _print(self, page: str, out: Path) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(out))
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        printer.setPageOrientation(QPageLayout.Orientation.Portrait)
        document = QTextDocument()
        document.setHtml(page)  # the embedded data is an HTML comment: not printed
        document.print_(printer)
        if out.is_file() and out.stat().st_size:
            self._say(f"Printed the conversation to {out}", True)
        else:
            self._say(f"Nothing was printed: {out} could not be written", False)

    def shutdown(self) -> None:
        """Stop the worker thread (the window closes): stop → quit → wait."""
        if self._jobs is not None:
            self._jobs.shutdown()

    @property
    def idle(self) -> bool:
        return self._jobs is None or self._jobs.idle

    def _current(self) -> int | None:
        conversation_id = self._conversation()
        if conversation_id is None:
            self._say("Open a conversation first: there is nothing to export yet.", False)
        return conversation_id

    def _default_path(self, conversation_id: int, suffix: str) -> Path:
        title = self._title(conversation_id) or "conversation"
        name = _UNSAFE_NAME.sub("_", title).strip(" ._")[:60] or "conversation"
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(folder) / f"{name}{suffix}"

    def _say(self, message: str, ok: bool) -> None:
        self.done.emit(message, ok)

    def _status(self, message: str, timeout_ms: int = 0) -> None:
        self._window.statusBar().showMessage(message, timeout_ms)
