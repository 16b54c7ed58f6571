"""Labels the windows build the same way."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def named_label(name: str, text_format: Qt.TextFormat = Qt.TextFormat.PlainText) -> QLabel:
    """A wrapping, selectable label; `name` picks its look in a window's style sheet (and
    finds it in tests). Plain text unless asked: messages quote file names and server
    answers, which must not be taken for markup."""
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(text_format)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
