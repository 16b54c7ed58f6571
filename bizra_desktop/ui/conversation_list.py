"""The conversation sidebar: a search box, the list (a QAbstractListModel over rows the chat
controller reads off the GUI thread) and the New / Rename / Delete buttons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QListView, QPushButton, QVBoxLayout, QWidget

from bizra_desktop.core.conversations import Conversation
from bizra_desktop.ui.accessibility import describe

_Index = QModelIndex | QPersistentModelIndex
ConversationIdRole = Qt.ItemDataRole.UserRole + 1
API_MARK = " · API"  # after the title of a conversation held through the local API


class ConversationListModel(QAbstractListModel):
    """Newest activity first, as listed; titles are editable in place (`renamed` asks the
    store to keep the new one)."""

    renamed = Signal(int, str)  # conversation id, the title as shown

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Conversation] = []

    def set_rows(self, rows: Sequence[Conversation]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conversation = self._rows[index.row()]
        from_api = conversation.source == "api"
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{conversation.title}{API_MARK if from_api else ''}"
        if role == Qt.ItemDataRole.EditRole:
            return conversation.title
        if role == Qt.ItemDataRole.ToolTipRole:
            origin = "\nasked through the local API" if from_api else ""
            return f"{conversation.title}{origin}\nlast activity {conversation.updated_at}"
        if role == ConversationIdRole:
            return conversation.id
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = " ".join(str(value).split())  # as the store keeps it
        if not title:
            return False  # an empty title keeps the old one
        renamed = replace(self._rows[index.row()], title=title)
        self._rows[index.row()] = renamed
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        self.renamed.emit(renamed.id, title)
        return True

    def row_of(self, conversation_id: int) -> int | None:
        return next((i for i, c in enumerate(self._rows) if c.id == conversation_id), None)

    def title_of(self, conversation_id: int | None) -> str | None:
        row = self.row_of(conversation_id) if conversation_id is not None else None
        return self._rows[row].title if row is not None else None


class ConversationSidebar(QWidget):
    """`selected` says which conversation the user picked; `show_rows` keeps the open one
    selected without announcing it again."""

    selected = Signal(int)  # conversation id

    def __init__(self) -> None:
        super().__init__()
        self.conversations = ConversationListModel()
        self.search = QLineEdit(placeholderText="Search conversations")
        self.search.setClearButtonEnabled(True)
        self.list_view = QListView()
        self.list_view.setModel(self.conversations)
        self.new_button = QPushButton("New chat")
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        buttons = QHBoxLayout()
        for button in (self.new_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list_view, 1)
        layout.addLayout(buttons)
        self.rename_button.clicked.connect(
            lambda: self.list_view.edit(self.list_view.currentIndex())
        )
        self.list_view.selectionModel().currentChanged.connect(self._on_current)
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
        ):
            describe(widget, name, description)

    def tab_order(self) -> tuple[QWidget, ...]:
        return (
            self.search, self.list_view, self.new_button, self.rename_button, self.delete_button
        )  # fmt: skip

    def show_rows(self, rows: Sequence[Conversation], current: int | None) -> None:
        """The conversations as listed, `current` (the one open) selected if it is there."""
        self.conversations.set_rows(rows)
        self.select(current)

    def select(self, conversation_id: int | None) -> None:
        """Show `conversation_id` selected (None: none is) without announcing it."""
        row = self.conversations.row_of(conversation_id) if conversation_id is not None else None
        with QSignalBlocker(self.list_view.selectionModel()):
            if row is None:
                self.list_view.setCurrentIndex(QModelIndex())
                self.list_view.clearSelection()
            else:
                self.list_view.setCurrentIndex(self.conversations.index(row))
        self.list_view.viewport().update()  # the view repaints on the signals blocked above

    def _on_current(self, index: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = index.data(ConversationIdRole) if index.isValid() else None
        if conversation_id is not None:
            self.selected.emit(conversation_id)
