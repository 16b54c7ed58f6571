"""The receipts as a table, newest first, fetched a page at a time as the view scrolls.

Pages are asked for through a callback and arrive later with add_page(): the browser reads them
on its reader thread, so a slow filter never stalls the window. Pages are keyset pages (below
the last receipt loaded), so the thousandth costs what the first does, and a receipt appended
meanwhile never shifts a page. Only what has been scrolled to is held in memory.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase

from bizra_desktop.core.receipts.query import ReceiptFilter, ReceiptRow
from bizra_desktop.ui import theme
from bizra_desktop.ui.receipts.read_only_model import RIGHT, Index, ReadOnlyTableModel

PAGE_SIZE = 500
COLUMNS = ("Time (UTC)", "Model", "Tier", "Complexity", "Tokens/s", "Impact", "Hash")
TIME, MODEL, TIER, COMPLEXITY, TOKENS_PER_S, IMPACT, HASH = range(len(COLUMNS))
HASH_ROLE = Qt.ItemDataRole.UserRole + 1  # the full receipt hash of a row
SEQ_ROLE = Qt.ItemDataRole.UserRole + 2
MISSING = "—"  # a field the body does not hold (or a body that is not JSON)
# data() runs for every role of every visible cell at each repaint, and a call into Python costs
# microseconds: roles this model never answers are turned away first, before any other work.
_ANSWERED = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.BackgroundRole,
        HASH_ROLE,
        SEQ_ROLE,
    }
)


@dataclass(frozen=True)
class PageRequest:
    """Rows matching `filters` below `before_seq` (from the newest if None): at most `limit`,
    or, with `down_to`, every one down to that receipt. `generation` ties the answer to the
    filters it was asked under: a page for filters since replaced is dropped."""

    generation: int
    filters: ReceiptFilter
    before_seq: int | None
    limit: int | None
    down_to: int | None = None


class ReceiptTableModel(ReadOnlyTableModel):
    loading_changed = Signal(bool)
    revealed = Signal(int)  # the row of the receipt reveal() was asked for, once loaded

    def __init__(
        self,
        request: Callable[[PageRequest], None],
        parent: QObject | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(COLUMNS, parent)
        self._request = request
        self._page_size = page_size
        self._rows: list[ReceiptRow] = []
        self._filters = ReceiptFilter()
        self._generation = 0
        self._pending = False
        self._complete = False
        self._reveal: int | None = None
        self._broken: int | None = None
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    # --- paging -------------------------------------------------------------------------------

    @property
    def filters(self) -> ReceiptFilter:
        return self._filters

    @property
    def complete(self) -> bool:
        """Every receipt matching the filters is loaded."""
        return self._complete

    def set_filters(self, filters: ReceiptFilter) -> None:
        """Show the receipts matching `filters`, from the newest; the first page is asked for."""
        self.beginResetModel()
        self._rows = []
        self._filters = filters
        self._generation += 1
        # Pending already: a view that reacts to the reset by fetching must not ask twice.
        self._pending, self._complete = True, False
        self._reveal = None
        self.endResetModel()
        self._ask(self._page_size)

    def reload(self) -> None:
        self.set_filters(self._filters)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's default
        return not parent.isValid() and not self._complete and not self._pending

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._ask(self._page_size)

    def add_page(self, request: PageRequest, rows: list[ReceiptRow]) -> None:
        """The answer to a request: appended if it is for the current filters."""
        if request.generation != self._generation:
            return
        if rows:  # still pending meanwhile: a view asking for more from its signals must wait
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self._pending = False
        if request.down_to is None and request.limit is not None and len(rows) < request.limit:
            self._complete = True
        self.loading_changed.emit(False)
        if self._reveal is not None:
            self.reveal(self._reveal)

    def reveal(self, seq: int) -> None:
        """Load down to receipt `seq` if need be, then emit `revealed` with its row. Nothing is
        emitted if no receipt matching the filters has that number."""
        self._reveal = seq
        row = self.row_of(seq)
        if row is not None:
            self._reveal = None
            self.revealed.emit(row)
        elif self._pending:
            return  # looked at again when the page in flight arrives
        elif self._complete or (self._rows and self._rows[-1].seq < seq):
            self._reveal = None  # passed, or never there: filtered out
        else:
            self._ask(None, down_to=seq)

    def _ask(self, limit: int | None, down_to: int | None = None) -> None:
        self._pending = True
        self.loading_changed.emit(True)
        before = self._rows[-1].seq if self._rows else None
        self._request(PageRequest(self._generation, self._filters, before, limit, down_to))

    # --- lookups ------------------------------------------------------------------------------

    def row_of(self, seq: int) -> int | None:
        row = bisect_left(self._rows, -seq, key=lambda one: -one.seq)  # rows go down by seq
        return row if row < len(self._rows) and self._rows[row].seq == seq else None

    def receipt_at(self, row: int) -> ReceiptRow:
        return self._rows[row]

    def mark_broken(self, seq: int | None) -> None:
        """Shade the row of the first broken receipt (None: none is broken)."""
        rows = [self.row_of(one) for one in (self._broken, seq) if one is not None]
        self._broken = seq
        for row in rows:
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # --- the model ----------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ANSWERED or not index.isValid():
            return None
        receipt = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(receipt, column)
        if role == Qt.ItemDataRole.ToolTipRole and column in (TIME, HASH):
            return receipt.time if column == TIME else receipt.hash
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (TOKENS_PER_S, IMPACT):
            return RIGHT
        if role == Qt.ItemDataRole.FontRole and column == HASH:
            return self._mono
        if role == Qt.ItemDataRole.BackgroundRole and receipt.seq == self._broken:
            return QColor(theme.current().broken_row)
        if role == HASH_ROLE:
            return receipt.hash
        if role == SEQ_ROLE:
            return receipt.seq
        return None

    def row_header(self, row: int) -> str | None:
        # The receipt's number: what Verify and the command line call it by.
        return f"#{self._rows[row].seq}" if 0 <= row < len(self._rows) else None


def _display(receipt: ReceiptRow, column: int) -> str:
    if column == TIME:
        # "2025-03-01T12:00:05.123Z" → "2025-03-01 12:00:05"; the tooltip has it in full.
        return receipt.time[:19].replace("T", " ") if receipt.time else MISSING
    if column == TOKENS_PER_S:
        return MISSING if receipt.tokens_per_s is None else f"{receipt.tokens_per_s:.1f}"
    if column == IMPACT:
        return MISSING if receipt.impact is None else f"{receipt.impact:.4f}"
    if column == HASH:
        return receipt.hash[:16] + "…"
    text = (receipt.model, receipt.tier, receipt.complexity)[column - MODEL]
    return text or MISSING
