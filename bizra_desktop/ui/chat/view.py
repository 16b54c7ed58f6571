"""The conversation pane (a column of messages) and the prompt box."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QScrollArea, QVBoxLayout, QWidget

from bizra_desktop.ui.chat.message_view import MessageView


class ChatView(QScrollArea):
    """Messages top to bottom; follows the newest text unless the user scrolled up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        container = QWidget()
        container.setObjectName("chat-column")
        self._column = QVBoxLayout(container)
        self._column.setContentsMargins(12, 12, 12, 12)
        self._column.setSpacing(10)
        self._column.addStretch(1)
        self.setWidget(container)
        self._follow = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("placeholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setTextFormat(Qt.TextFormat.RichText)  # the hint's links
        self._column.insertWidget(0, self.placeholder)

    def set_hint(self, html: str) -> None:
        """What the empty chat says (links in it reach `placeholder.linkActivated`)."""
        self.placeholder.setText(html)

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 4

    def _on_range(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    def add(self, message: MessageView) -> MessageView:
        self.placeholder.setVisible(False)
        self._column.insertWidget(self._column.count() - 1, message)
        self._follow = True
        return message

    def remove(self, message: MessageView) -> None:
        self._column.removeWidget(message)
        message.hide()  # at once: deleteLater waits for the event loop
        message.deleteLater()

    def messages(self) -> list[MessageView]:
        items = (self._column.itemAt(i) for i in range(self._column.count()))
        return [
            widget
            for item in items
            if item is not None and isinstance(widget := item.widget(), MessageView)
        ]

    def restyle(self, _palette: object) -> None:
        """The theme changed: messages draw their rendered text again in its colours."""
        for message in self.messages():
            message.restyle()

    def clear(self) -> None:
        for message in self.messages():
            self.remove(message)
        self.placeholder.setVisible(True)


class PromptEdit(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Message BIZRA…  (Enter sends, Shift+Enter for a new line)")
        self.setFixedHeight(76)
        self.setTabChangesFocus(True)  # Tab leaves the box (to Send), it types no tab character

    def keyPressEvent(self, event: QKeyEvent) -> None:
        is_enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if is_enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)
