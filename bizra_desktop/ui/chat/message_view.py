"""One chat message: a badge, a body that streams then renders markdown, and a footer."""

from __future__ import annotations

import re

from PySide6.QtCore import QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QGuiApplication,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
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

from bizra_desktop.ui import theme
from bizra_desktop.ui.chat.code_render import insert_code, style_tables
from bizra_desktop.ui.chat.maths import render_maths
from bizra_desktop.ui.chat.variant_switch import VariantSwitch

# A fenced code block; an unterminated fence (still streaming, or cut off) runs to the end.
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)(?:^```[ \t]*$\n?|\Z)", re.MULTILINE | re.DOTALL)
_OPEN_FENCE = re.compile(r"```[^\n`]*")  # the same lines _FENCE opens and closes on
_CLOSE_FENCE = re.compile(r"```[ \t]*")
_MARKDOWN = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML  # model output never becomes live HTML
)


class _Stream:
    """What has streamed into a body: every piece, and the plain tail since the last code
    block that closed (only that tail is still shown unrendered)."""

    def __init__(self, palette: theme.Palette, tail_at: int) -> None:
        self.palette = palette  # what the rendered part was drawn with
        self.pieces: list[str] = []
        self.tail_at = tail_at  # document position where the plain tail starts
        self.tail_lines: list[str] = []  # the tail's complete lines, each with its "\n"
        self.line = ""  # the tail's last, incomplete line
        self.fence_open = False

    def take(self, text: str) -> str:
        """Add `text`; returns the tail's text up to the last code fence it closed ("" when
        none closed). Looks only at the new lines, so streaming stays linear."""
        self.pieces.append(text)
        lines = (self.line + text).split("\n")
        self.line = lines.pop()
        finished: list[str] = []
        for line in lines:
            self.tail_lines.append(line + "\n")
            if self.fence_open and _CLOSE_FENCE.fullmatch(line):
                self.fence_open = False
                finished += self.tail_lines
                self.tail_lines = []
            elif not self.fence_open and _OPEN_FENCE.fullmatch(line):
                self.fence_open = True
        return "".join(finished)

    def tail(self) -> str:
        return "".join(self.tail_lines) + self.line


class MessageBody(QTextBrowser):
    """Read-only text that grows with its content instead of scrolling down; a code line wider
    than the message scrolls sideways (the body's horizontal scroll bar) instead of wrapping."""

    copy_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_anchor)
        self.code_blocks: list[str] = []
        self.markdown: str | None = None  # the source of what set_markdown shows
        self._stream: _Stream | None = None
        self._fit_height(self.document().size())

    def _fit_height(self, size: QSizeF) -> None:
        margins = self.contentsMargins()
        height = int(size.height()) + margins.top() + margins.bottom() + 2
        if self.document().idealWidth() > self.viewport().width():  # a code line too wide
            height += self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height(self.document().size())  # narrower: the scroll bar may appear

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            index = int(url.path() or url.toString().removeprefix("copy:"))
            self.copy_requested.emit(self.code_blocks[index])

    def append_plain(self, text: str) -> None:
        """Streaming: append at the end, never re-render what is already there. A code block
        whose closing fence arrives is rendered (highlighted) then, once; the text after it
        stays plain until its own block closes or the answer ends."""
        if self._stream is None:
            self.code_blocks = []
            self._stream = _Stream(theme.current(), self._end().position())
        finished = self._stream.take(text)
        cursor = self._end()
        if not finished:
            cursor.insertText(text, QTextCharFormat())
            return
        cursor.setPosition(self._stream.tail_at)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._render(cursor, finished)  # ends in the empty block after the code's frame
        self._stream.tail_at = cursor.position()
        cursor.insertText(self._stream.tail(), QTextCharFormat())

    def _end(self) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def set_plain(self, text: str) -> None:
        self.code_blocks = []
        self.markdown = self._stream = None
        self.setPlainText(text)

    def set_markdown(self, text: str) -> None:
        """Show `text` rendered: markdown, maths as text, code blocks highlighted with a Copy
        link. After streaming the same text only the still-plain tail is rendered."""
        stream, self._stream = self._stream, None
        self.markdown = text
        if (
            stream is not None
            and stream.palette is theme.current()
            and "".join(stream.pieces) == text
        ):
            cursor = QTextCursor(self.document())
            cursor.setPosition(stream.tail_at)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            self._render(cursor, stream.tail())
            return
        document = self.document()
        document.clear()
        self.code_blocks = []
        self._render(QTextCursor(document), text)
        self.setTextCursor(QTextCursor(document))  # at the start, so the view shows the start

    def _render(self, cursor: QTextCursor, text: str) -> None:
        palette = theme.current()
        position = 0
        for match in _FENCE.finditer(text):
            self._insert_markdown(cursor, text[position : match.start()], palette)
            self.code_blocks.append(match.group(2).rstrip("\n"))
            insert_code(
                cursor,
                match.group(1).strip(),
                self.code_blocks[-1],
                len(self.code_blocks) - 1,
                palette,
            )
            position = match.end()
        self._insert_markdown(cursor, text[position:], palette)

    @staticmethod
    def _insert_markdown(cursor: QTextCursor, text: str, palette: theme.Palette) -> None:
        if not text.strip():
            return
        part = QTextDocument()
        part.setMarkdown(render_maths(text), _MARKDOWN)
        style_tables(part, palette)
        cursor.insertFragment(QTextDocumentFragment(part))


class MessageView(QFrame):
    """A user prompt, an assistant answer (badge, body, figures) or an inline error."""

    receipt_requested = Signal(str)
    retry_requested = Signal()
    edit_requested = Signal()  # a prompt: edit it and send it as a new branch

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
        header = QHBoxLayout()
        header.addWidget(self.badge)
        header.addWidget(self.runtime)
        header.addStretch(1)
        self.variants = VariantSwitch("prompt" if role == "user" else "answer")
        header.addWidget(self.variants)
        self.edit = QPushButton("Edit")
        self.edit.setVisible(False)  # shown by set_editable, once the message is in the chat
        self.edit.clicked.connect(self.edit_requested)
        self.edit.setAccessibleName("Edit")
        self.edit.setAccessibleDescription("Edit this prompt and send it as a new branch.")
        header.addWidget(self.edit)
        layout.addLayout(header)
        self.body = MessageBody()
        self.body.copy_requested.connect(self._copy)
        self.body.setAccessibleName({"user": "Your message", "error": "Error"}.get(role, "Answer"))
        self.body.setAccessibleDescription(
            "Read-only text; Tab moves through its links (a code block's Copy, the receipt)."
        )
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
        self.retry.setAccessibleName("Retry")
        self.retry.setAccessibleDescription("Ask the same prompt again.")
        footer.addWidget(self.retry)
        layout.addLayout(footer)
        if role == "assistant":
            self.body.set_markdown(text)
        else:
            self.body.set_plain(text)  # user text is never interpreted as markup

    def set_editable(self, editable: bool) -> None:
        """Offer Edit on a prompt (one stored, in a conversation that can branch)."""
        self.edit.setVisible(editable and self.role == "user")

    def restyle(self) -> None:
        """Draw the rendered text again in the current theme (its colours are in the text)."""
        if self.body.markdown is not None:
            self.body.set_markdown(self.body.markdown)

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
        if stand_in:
            self.badge.setText(f"{complexity} · {stand_in} — answered by the starter model")
            details = f"Answered by the built-in starter model {model}.\n{details}"
        else:
            self.badge.setText(f"{complexity} · {tier} · {model}")
        self.badge.setToolTip(details)
        # The stylesheet colours the badge by this property (theme.stylesheet).
        self.badge.setProperty("tier", "" if stand_in else tier)
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.badge.setVisible(True)

    def set_runtime(self, text: str, details: str = "") -> None:
        self.runtime.setText(text)
        self.runtime.setToolTip(details)
        self.runtime.setVisible(bool(text))

    def set_figures(self, html: str) -> None:
        self.figures.setText(html)
        self.figures.setVisible(bool(html))
