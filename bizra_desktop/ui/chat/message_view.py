"""One chat message: a badge, a body that streams then renders markdown, and a footer."""

from __future__ import annotations

import re

from PySide6.QtCore import QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QGuiApplication,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFrameFormat,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

# A fenced code block; an unterminated fence (still streaming, or cut off) runs to the end.
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)(?:^```[ \t]*$\n?|\Z)", re.MULTILINE | re.DOTALL)
_MARKDOWN = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML  # model output never becomes live HTML
)

TIER_COLOURS = {
    "NANO": "#2e7d32",
    "MICRO": "#00838f",
    "SMALL": "#1565c0",
    "MEDIUM": "#6a1b9a",
    "LARGE": "#c62828",
}
STARTER_COLOUR = "#455a64"


class MessageBody(QTextBrowser):
    """Read-only text that grows with its content instead of scrolling."""

    copy_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_anchor)
        self.code_blocks: list[str] = []
        self._fit_height(self.document().size())

    def _fit_height(self, size: QSizeF) -> None:
        margins = self.contentsMargins()
        self.setFixedHeight(int(size.height()) + margins.top() + margins.bottom() + 2)

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            index = int(url.path() or url.toString().removeprefix("copy:"))
            self.copy_requested.emit(self.code_blocks[index])

    def append_plain(self, text: str) -> None:
        """Streaming: append at the end, never re-render what is already there."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text, QTextCharFormat())

    def set_plain(self, text: str) -> None:
        self.code_blocks = []
        self.setPlainText(text)

    def set_markdown(self, text: str) -> None:
        """Render the finished message once: markdown, and code blocks with a Copy link."""
        document = self.document()
        document.clear()
        self.code_blocks = []
        cursor = QTextCursor(document)
        position = 0
        for match in _FENCE.finditer(text):
            self._insert_markdown(cursor, text[position : match.start()])
            self._insert_code(cursor, match.group(1).strip(), match.group(2))
            position = match.end()
        self._insert_markdown(cursor, text[position:])

    @staticmethod
    def _insert_markdown(cursor: QTextCursor, text: str) -> None:
        if not text.strip():
            return
        part = QTextDocument()
        part.setMarkdown(text, _MARKDOWN)
        cursor.insertFragment(QTextDocumentFragment(part))

    def _insert_code(self, cursor: QTextCursor, language: str, code: str) -> None:
        index = len(self.code_blocks)
        self.code_blocks.append(code.rstrip("\n"))
        link = QTextCharFormat()
        link.setAnchor(True)
        link.setAnchorHref(f"copy:{index}")
        link.setForeground(QColor("#1565c0"))
        cursor.insertBlock()
        cursor.insertText(f"{language or 'code'} · Copy", link)
        frame = QTextFrameFormat()
        frame.setBackground(QColor("#f3f4f6"))
        frame.setPadding(6)
        frame.setBorder(1)
        frame.setBorderBrush(QColor("#d0d4da"))
        cursor.insertFrame(frame)
        mono = QTextCharFormat()
        mono.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        cursor.insertText(code.rstrip("\n"), mono)
        cursor.movePosition(QTextCursor.MoveOperation.End)


class MessageView(QFrame):
    """A user prompt, an assistant answer (badge, body, figures) or an inline error."""

    receipt_requested = Signal(str)
    retry_requested = Signal()

    def __init__(self, role: str, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName(f"message-{role}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.badge = QLabel()
        self.badge.setObjectName("badge")
        self.badge.setVisible(False)
        self.badge.setTextFormat(Qt.TextFormat.PlainText)
        self.runtime = QLabel()  # where the model runs: backend and offloaded layers
        self.runtime.setObjectName("runtime")
        self.runtime.setVisible(False)
        self.runtime.setTextFormat(Qt.TextFormat.PlainText)
        self.runtime.setStyleSheet(
            "background:#eceff1; color:#37474f; border-radius:8px; padding:2px 8px;"
        )
        header = QHBoxLayout()
        header.addWidget(self.badge)
        header.addWidget(self.runtime)
        header.addStretch(1)
        layout.addLayout(header)
        self.body = MessageBody()
        self.body.copy_requested.connect(self._copy)
        layout.addWidget(self.body)
        footer = QHBoxLayout()
        self.figures = QLabel()
        self.figures.setObjectName("figures")
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.linkActivated.connect(self._on_link)
        self.figures.setVisible(False)
        footer.addWidget(self.figures, 1)
        self.retry = QPushButton("Retry")
        self.retry.setVisible(role == "error")
        self.retry.clicked.connect(self.retry_requested)
        footer.addWidget(self.retry)
        layout.addLayout(footer)
        if role == "assistant":
            self.body.set_markdown(text)
        else:
            self.body.set_plain(text)  # user text is never interpreted as markup

    def _copy(self, code: str) -> None:
        QGuiApplication.clipboard().setText(code)

    def _on_link(self, link: str) -> None:
        if link.startswith("receipt:"):
            self.receipt_requested.emit(link.removeprefix("receipt:"))

    def set_badge(
        self, complexity: str, tier: str, model: str, details: str, stand_in: str | None = None
    ) -> None:
        """`stand_in`: why the built-in starter model answered instead of the tier (then the
        badge says that, in the starter's grey, and names the starter only in the tooltip)."""
        colour = STARTER_COLOUR if stand_in else TIER_COLOURS.get(tier, STARTER_COLOUR)
        if stand_in:
            self.badge.setText(f"{complexity} · {stand_in} — answered by the starter model")
            details = f"Answered by the built-in starter model {model}.\n{details}"
        else:
            self.badge.setText(f"{complexity} · {tier} · {model}")
        self.badge.setToolTip(details)
        self.badge.setStyleSheet(
            f"background:{colour}; color:white; border-radius:8px; padding:2px 8px;"
        )
        self.badge.setVisible(True)

    def set_runtime(self, text: str, details: str = "") -> None:
        self.runtime.setText(text)
        self.runtime.setToolTip(details)
        self.runtime.setVisible(bool(text))

    def set_figures(self, html: str) -> None:
        self.figures.setText(html)
        self.figures.setVisible(bool(html))
