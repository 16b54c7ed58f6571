"""Draws a progress bar in a table cell from the model's ProgressRole."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
)

from bizra_desktop.ui.models.tier_model import BUSY, ProgressRole

_STEPS = 1000  # per-mille: smooth enough for a 9 GB download, within the int range Qt wants
_MARGIN = 2


class ProgressDelegate(QStyledItemDelegate):
    """A bar with the cell's text on it. BUSY (the state column names the work) draws an empty
    bar: a delegate cannot animate Qt's busy indicator, and a full bar would read as 'done'."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        fill = index.data(ProgressRole)
        if fill is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(_MARGIN, _MARGIN, -_MARGIN, -_MARGIN)
        # Qt 6 has no orientation field: without State_Horizontal a style draws it vertical.
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.minimum = 0
        bar.maximum = _STEPS
        bar.progress = 0 if fill == BUSY else round(min(max(fill, 0.0), 1.0) * _STEPS)
        bar.text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
