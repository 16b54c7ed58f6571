"""The conversation list: a QAbstractListModel over the ConversationStore."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from bizra_desktop.core.conversations import Conversation, ConversationStore

_Index = QModelIndex | QPersistentModelIndex
ConversationIdRole = Qt.ItemDataRole.UserRole + 1


class ConversationListModel(QAbstractListModel):
    """Newest activity first, filtered by a search text; titles are editable in place."""

    def __init__(self, store: ConversationStore) -> None:
        super().__init__()
        self.store = store
        self.search = ""
        self._rows: list[Conversation] = []
        self.refresh()

    def refresh(self, search: str | None = None) -> None:
        if search is not None:
            self.search = search
        self.beginResetModel()
        self._rows = self.store.list(self.search or None)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conversation = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return conversation.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{conversation.title}\nlast activity {conversation.updated_at}"
        if role == ConversationIdRole:
            return conversation.id
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        try:
            renamed = self.store.rename(self._rows[index.row()].id, str(value))
        except ValueError:
            return False  # an empty title keeps the old one
        self._rows[index.row()] = renamed
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        return True

    def row_of(self, conversation_id: int) -> int | None:
        return next((i for i, c in enumerate(self._rows) if c.id == conversation_id), None)
