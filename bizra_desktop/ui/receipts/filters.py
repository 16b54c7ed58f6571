"""The browser's filter row: model, tier, a UTC date range and text in the conversation."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, date, datetime
from functools import partial

from PySide6.QtCore import QDate, QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from bizra_desktop.core.receipts.query import ReceiptFilter
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.accessibility import describe

# A text search reads every message (about a second on 100,000 receipts): wait for a pause in
# typing rather than search on every key.
TEXT_PAUSE_MS = 350


class FilterBar(QWidget):
    changed = Signal(object)  # ReceiptFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_box = QComboBox()
        self.model_box.addItem("All models", None)
        self.model_box.setMinimumContentsLength(18)
        self.tier_box = QComboBox()
        self.tier_box.addItem("All tiers", None)
        for tier in Tier:
            self.tier_box.addItem(tier.name, tier.name)
        today = _qdate(datetime.now(UTC).date())
        self.since_check, self.since_edit = QCheckBox("From"), _date_edit(today)
        self.until_check, self.until_edit = QCheckBox("to"), _date_edit(today)
        self.text_edit = QLineEdit(placeholderText="Search prompts, answers and titles")
        self.text_edit.setClearButtonEnabled(True)
        self.clear_button = QPushButton("Clear filters")
        for widget, name, description in (
            (self.model_box, "Model", "Show only receipts of this model."),
            (self.tier_box, "Tier", "Show only receipts of this tier."),
            (self.since_check, "From", "Show only receipts from the date beside."),
            (self.since_edit, "From date", "The first day (UTC) shown, when From is ticked."),
            (self.until_check, "To", "Show only receipts up to the date beside."),
            (self.until_edit, "To date", "The last day (UTC) shown, when To is ticked."),
            (
                self.text_edit,
                "Search",
                "Show only receipts whose prompt, answer or title has it.",
            ),
            (self.clear_button, "Clear filters", "Show every receipt again."),
        ):
            describe(widget, name, description)
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(TEXT_PAUSE_MS)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.model_box, self.tier_box, self.since_check, self.since_edit):
            layout.addWidget(widget)
        for widget in (self.until_check, self.until_edit):
            layout.addWidget(widget)
        layout.addWidget(self.text_edit, 1)
        layout.addWidget(self.clear_button)

        for box in (self.model_box, self.tier_box):
            box.currentIndexChanged.connect(self._emit)
        for check, edit in (
            (self.since_check, self.since_edit),
            (self.until_check, self.until_edit),
        ):
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self._emit)
            edit.dateChanged.connect(partial(self._date_changed, check))
        self.text_edit.textChanged.connect(self._pause.start)
        self.text_edit.returnPressed.connect(self._emit)
        self._pause.timeout.connect(self._emit)
        self.clear_button.clicked.connect(self.clear)

    def filters(self) -> ReceiptFilter:
        text = self.text_edit.text().strip()
        return ReceiptFilter(
            model=self.model_box.currentData(),
            tier=self.tier_box.currentData(),
            since=_date(self.since_edit.date()) if self.since_check.isChecked() else None,
            until=_date(self.until_edit.date()) if self.until_check.isChecked() else None,
            text=text or None,
        )

    def set_models(self, names: list[str]) -> None:
        """The models the chain names, as choices; the one chosen stays chosen."""
        chosen = self.model_box.currentData()
        with QSignalBlocker(self.model_box):
            while self.model_box.count() > 1:
                self.model_box.removeItem(1)
            for name in names:
                self.model_box.addItem(name, name)
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(chosen)))

    def clear(self) -> None:
        """Every filter off, announced once."""
        widgets = (
            self.model_box,
            self.tier_box,
            self.since_check,
            self.until_check,
            self.text_edit,
        )
        with ExitStack() as quiet:
            for widget in widgets:
                quiet.enter_context(QSignalBlocker(widget))
            self.model_box.setCurrentIndex(0)
            self.tier_box.setCurrentIndex(0)
            for check, edit in (
                (self.since_check, self.since_edit),
                (self.until_check, self.until_edit),
            ):
                check.setChecked(False)
                edit.setEnabled(False)
            self.text_edit.clear()
        self._emit()

    def stop(self) -> None:
        self._pause.stop()

    def _emit(self) -> None:
        self._pause.stop()
        self.changed.emit(self.filters())

    def _date_changed(self, check: QCheckBox, _day: QDate) -> None:
        if check.isChecked():  # a date that is not in use changes nothing
            self._emit()


def _date_edit(initial: QDate) -> QDateEdit:
    edit = QDateEdit(initial)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setEnabled(False)
    return edit


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _date(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())
