"""The receipt browser window (Receipts → Browse receipts…): the chain's receipts filtered and
paged, one of them in full, Verify, exports, and the impact accumulator.

Nothing here reads the database on the GUI thread: rows, counts and details are read on a reader
thread, and the walks of the whole chain (Verify, the impact ledger, exports) run on a second
thread, so a page of rows never waits behind a verification (tasks.py).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QStandardPaths, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts.chain import ReceiptChain, VerifyReport
from bizra_desktop.core.receipts.export import export_receipts
from bizra_desktop.core.receipts.export_verify import ExportReport, verify_export
from bizra_desktop.core.receipts.impact_ledger import accumulate
from bizra_desktop.core.receipts.query import ReceiptDetail, ReceiptFilter, ReceiptRow
from bizra_desktop.ui.accessibility import describe
from bizra_desktop.ui.background import Progress, Task, TaskRunner
from bizra_desktop.ui.receipts.detail_pane import DetailPane
from bizra_desktop.ui.receipts.filters import FilterBar
from bizra_desktop.ui.receipts.impact_view import ImpactView
from bizra_desktop.ui.receipts.reads import BrowserQuery
from bizra_desktop.ui.receipts.table_model import HASH_ROLE, PageRequest, ReceiptTableModel

EXPORT_FILTER = "Receipt exports (*.jsonl);;All files (*)"
# What "Verify an export…" opens: receipt exports and conversation exports (bizra chats export).
VERIFY_FILTER = "Receipt and conversation exports (*.jsonl *.json *.md *.html);;All files (*)"
COLUMN_WIDTHS = (140, 170, 60, 85, 70, 70)  # time … impact; the hash takes the rest


class ReceiptBrowser(QMainWindow):
    def __init__(self, paths: DataPaths, chain: ReceiptChain, parent: QWidget | None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.paths = paths
        self.chain = chain
        self.setWindowTitle("Receipts — BIZRA Desktop")
        self.resize(1200, 780)
        self._query: BrowserQuery | None = None  # the reader thread's own; see _reads()
        self.jobs = TaskRunner("bizra-receipt-jobs", self)
        self.reader = TaskRunner("bizra-receipt-reader", self, cleanup=self._close_query)
        self._counts_asked = 0  # the latest count asked for: older answers are dropped
        self._detail_hash: str | None = None
        self._broken: VerifyReport | None = None  # the latest Verify's finding, if it failed
        self._busy_jobs = 0
        self.model = ReceiptTableModel(self._read_page, self)
        self._build()
        self._wire()
        self.reader.submit(Task(lambda _: self._reads().models(), self.filters.set_models))
        self._apply_filters(ReceiptFilter())
        self.refresh_impact()

    # --- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.filters = FilterBar()
        self.banner = QLabel()
        self.banner.setObjectName("banner")  # coloured by its "kind" (theme.stylesheet)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)  # messages quote paths and receipts
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        # Fixed heights: the view never measures rows, whatever their number.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.table.setColumnWidth(column, width)
        self.detail = DetailPane()
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([800, 480])
        receipts = QWidget()
        receipts_layout = QVBoxLayout(receipts)
        receipts_layout.addWidget(self.filters)
        receipts_layout.addWidget(split, 1)
        self.impact = ImpactView()
        self.tabs = QTabWidget()
        self.tabs.addTab(receipts, "Receipts")
        self.tabs.addTab(self.impact, "Impact")
        self.receipts_tab = receipts
        describe(self.table, "Receipts", "The receipts, newest first; select one to see it.")
        describe(self.tabs, "Receipts and impact", "Switch between the receipts and the impact.")
        describe(self.tabs.tabBar(), "Views", "The receipts list, or the impact they add up to.")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_actions()

    def _build_status_bar(self) -> None:
        self.count_label = QLabel()
        self.loading_label = QLabel("loading…")
        self.loading_label.hide()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        status = self.statusBar()
        status.addWidget(self.count_label)
        status.addWidget(self.loading_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(QLabel(f"database: {self.paths.database}"))

    def _build_actions(self) -> None:
        def action(text: str, shortcut: str | None = None) -> QAction:
            made = QAction(text, self)
            if shortcut:
                made.setShortcut(QKeySequence(shortcut))
            return made

        self.export_action = action("&Export selection…", "Ctrl+E")
        self.export_texts_action = action("Export selection with &texts…")
        self.export_texts_action.setToolTip(
            "Also the prompts, answers and salts, so that whoever gets the file can check the "
            "commitments"
        )
        self.open_export_action = action("&Open an export and verify it…", "Ctrl+O")
        self.verify_action = action("&Verify the chain", "Ctrl+Shift+V")
        self.refresh_action = action("&Refresh", "F5")
        close_action = action("&Close", "Ctrl+W")
        close_action.triggered.connect(self.close)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_texts_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_export_action)
        file_menu.addSeparator()
        file_menu.addAction(close_action)
        chain_menu = self.menuBar().addMenu("&Chain")
        chain_menu.addAction(self.verify_action)
        chain_menu.addAction(self.refresh_action)
        tools = self.addToolBar("Receipts")
        tools.setMovable(False)
        for item in (self.verify_action, self.refresh_action, self.export_action):
            tools.addAction(item)
        tools.addAction(self.open_export_action)

    def _wire(self) -> None:
        self.filters.changed.connect(self._apply_filters)
        self.model.loading_changed.connect(self.loading_label.setVisible)
        self.model.revealed.connect(self._select_row)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.verify_action.triggered.connect(self.verify)
        self.refresh_action.triggered.connect(self.refresh)
        self.export_action.triggered.connect(partial(self._ask_export, False))
        self.export_texts_action.triggered.connect(partial(self._ask_export, True))
        self.open_export_action.triggered.connect(self._ask_open_export)
        for runner in (self.reader, self.jobs):
            runner.failed.connect(partial(self.say, kind="error"))

    # --- reading (reader thread) --------------------------------------------------------------

    def _reads(self) -> BrowserQuery:
        """The reader thread's query, opened there on first use."""
        if self._query is None:
            self._query = BrowserQuery(self.chain)
        return self._query

    def _close_query(self) -> None:  # on the reader thread, as it ends
        if self._query is not None:
            self._query.close()
            self._query = None

    def _read_page(self, request: PageRequest) -> None:
        def run(_progress: Progress) -> list[ReceiptRow]:
            return self._reads().page_before(
                request.before_seq, request.filters, request.limit, request.down_to
            )

        deliver = partial(self.model.add_page, request)
        # A page that cannot be read ends the list there; the banner says why.
        self.reader.submit(Task(run, deliver, error=lambda _message: deliver([])))

    def _apply_filters(self, filters: ReceiptFilter) -> None:
        self.model.set_filters(filters)
        self._counts_asked += 1
        self.count_label.setText("counting…")
        self.reader.submit(
            Task(
                lambda _: self._reads().count(filters),
                partial(self._show_count, self._counts_asked),
            )
        )

    def _show_count(self, asked: int, count: int) -> None:
        if asked == self._counts_asked:
            which = "match the filters" if self.model.filters != ReceiptFilter() else "in the chain"
            self.count_label.setText(f"{count:,} receipt{'' if count == 1 else 's'} {which}")

    def refresh(self) -> None:
        """Read the list again (receipts added since) and recount the impact."""
        self._apply_filters(self.model.filters)
        self.refresh_impact()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self._detail_hash = None
            self.detail.show_detail(None)
            return
        receipt_hash: str = current.data(HASH_ROLE)
        self._detail_hash = receipt_hash
        self.reader.submit(
            Task(
                lambda _: self._reads().detail(receipt_hash),
                partial(self._show_detail, receipt_hash),
            )
        )

    def _show_detail(self, receipt_hash: str, detail: ReceiptDetail | None) -> None:
        if receipt_hash != self._detail_hash:
            return  # the user has moved on
        broken = self._broken
        finding = (
            broken.message if broken and detail and broken.first_bad_seq == detail.seq else None
        )
        self.detail.show_detail(detail, finding)

    def _select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    # --- verify and impact (jobs thread) ------------------------------------------------------

    def verify(self) -> None:
        """Check every receipt and the signed checkpoint; a broken receipt is selected."""
        self.verify_action.setEnabled(False)
        self._start_busy("Verifying every receipt, then the Merkle tree against the checkpoint…")
        self.jobs.submit(
            Task(
                lambda progress: self.chain.verify(progress=progress),
                self._verified,
                progress=self._verify_progress,
                error=self._verify_ended,
            )
        )

    def _verify_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _verify_ended(self, _message: str | None = None) -> None:
        self.verify_action.setEnabled(True)
        self._end_busy()

    def _verified(self, report: VerifyReport) -> None:
        self._verify_ended()
        self._broken = None if report.ok else report
        self.model.mark_broken(report.first_bad_seq)
        if report.ok:
            self.say(report.message, kind="ok")
        elif report.first_bad_seq is None:
            self.say(f"The chain does not verify: {report.message}.", kind="error")
        else:
            self.say(
                f"The chain does not verify: {report.message}. The receipt is selected below; "
                "the impact total counts only the receipts before it.",
                kind="error",
            )
            self._pinpoint(report.first_bad_seq)
        self.refresh_impact()  # the ledger walks the chain as it is now, as Verify just did

    def _pinpoint(self, seq: int) -> None:
        self.tabs.setCurrentWidget(self.receipts_tab)
        # Every receipt, read again: the broken one may be filtered out, and the rows shown may
        # be older than what the file holds now.
        self.filters.clear()
        self.model.reveal(seq)

    def refresh_impact(self) -> None:
        self.impact.show_counting()
        self.jobs.submit(
            Task(lambda progress: accumulate(self.chain, progress), self.impact.show_ledger)
        )

    # --- exports (jobs thread) ----------------------------------------------------------------

    def selected_hashes(self) -> list[str]:
        return [index.data(HASH_ROLE) for index in self.table.selectionModel().selectedRows()]

    def _ask_export(self, with_content: bool) -> None:
        if self._nothing_selected():
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export receipts", str(_documents() / "receipts.jsonl"), EXPORT_FILTER
        )
        if path:
            self.export_selection_to(Path(path), with_content=with_content)

    def _nothing_selected(self) -> bool:
        if self.selected_hashes():
            return False
        self.say("Select the receipts to export first (Ctrl+A selects every one shown).", "error")
        return True

    def export_selection_to(self, out: Path, *, with_content: bool = False) -> None:
        """Export the selected receipts with their inclusion proofs (and texts, if asked)."""
        if self._nothing_selected():
            return
        hashes = self.selected_hashes()
        self._start_busy(f"Exporting {len(hashes):,} receipts to {out}…")
        self.jobs.submit(
            Task(
                lambda _: export_receipts(
                    self.chain, out, with_content=with_content, receipt_hashes=hashes
                ),
                lambda summary: self._end_busy(summary.describe(out), "ok"),
                error=lambda _message: self._end_busy(),
            )
        )

    def _ask_open_export(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Verify an export", str(_documents()), VERIFY_FILTER
        )
        if path:
            self.verify_export_at(Path(path))

    def verify_export_at(self, path: Path) -> None:
        """Check an export file offline, as `bizra receipts verify FILE` does."""
        self._start_busy(f"Checking {path}…")
        self.jobs.submit(
            Task(
                lambda _: verify_export(path),
                partial(self._export_checked, path),
                error=lambda _message: self._end_busy(),
            )
        )

    def _export_checked(self, path: Path, report: ExportReport) -> None:
        self._end_busy(f"{path.name}: {report.message}", "ok" if report.ok else "error")

    # --- feedback -------------------------------------------------------------------------------

    def say(self, text: str, kind: str = "info") -> None:
        """Show a message in the banner above the tabs; kind is info, ok or error."""
        self.banner.setText(text)
        self.banner.setProperty("kind", kind)
        self.banner.style().unpolish(self.banner)  # the stylesheet's rule for the new kind
        self.banner.style().polish(self.banner)
        self.banner.show()

    def _start_busy(self, text: str) -> None:
        self._busy_jobs += 1
        self.progress.setRange(0, 0)  # busy until a task reports how far it is
        self.progress.show()
        self.say(text)

    def _end_busy(self, text: str | None = None, kind: str = "info") -> None:
        self._busy_jobs -= 1
        self.progress.setVisible(self._busy_jobs > 0)
        if text is not None:
            self.say(text, kind)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.filters.stop()
        # Jobs first: an export's read transaction would hold up the final WAL checkpoint the
        # reader's own connection makes as it closes.
        self.jobs.shutdown()
        self.reader.shutdown()
        super().closeEvent(event)


def _documents() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation))
