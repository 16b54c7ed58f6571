"""Help → Keyboard shortcuts: every shortcut the window really has, read from its QActions and
QShortcuts when the dialog opens, so the list cannot drift from the key bindings."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """(what it does, keys) for each action and shortcut of `window` that has a key; keys as
    the platform writes them (Ctrl+N; ⌘N on macOS). A QShortcut says what it does in its
    whatsThis; an action in its text (menu mnemonics removed)."""
    rows: list[tuple[str, str]] = []
    for action in window.findChildren(QAction):
        keys = _keys(action.shortcuts())
        if keys:
            rows.append((re.sub(r"&(.)", r"\1", action.text()), keys))
    for shortcut in window.findChildren(QShortcut):
        keys = _keys([shortcut.key()])
        if keys and shortcut.isEnabled():
            rows.append((shortcut.whatsThis() or keys, keys))
    return sorted(set(rows), key=lambda row: row[0].casefold())


def _keys(sequences: list[QKeySequence]) -> str:
    texts = (s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
    return ", ".join(text for text in texts if text)


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcuts(window)
        self.table = QTableWidget(len(self.rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setAccessibleDescription("Each action of the window and the keys that do it.")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for row, (what, keys) in enumerate(self.rows):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.resizeColumnToContents(1)
        self.table.setColumnWidth(1, self.table.columnWidth(1) + 24)  # room beside the keys
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        close.setAccessibleDescription("Close the list of keyboard shortcuts.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(540, 440)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
