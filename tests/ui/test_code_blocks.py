"""Answers' code blocks, tables and maths through the real message view, offscreen: the Copy
link copies exactly its block, highlighting leaves the text as it was, long lines scroll
sideways, and a streamed answer ends up as the one rendered at once."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QTextCursor, QTextFrame, QTextTable
from pytestqt.qtbot import QtBot

from bizra_desktop.ui import theme
from bizra_desktop.ui.chat.code_render import tokens
from bizra_desktop.ui.chat.message_view import MessageBody, MessageView

PYTHON = 'def greet(name: str) -> str:\n    # say hello\n    return f"Hello, {name}!" * 2\n'
SHELL = "pip install bizra  &&  bizra chats list --json"
LONG = "x = [" + ", ".join(str(i) for i in range(200)) + "]"
ANSWER = (
    "Here is a function:\n\n"
    f"```python\n{PYTHON}```\n\n"
    "Install it with:\n\n"
    f"```bash\n{SHELL}\n```\n\n"
    "| Tier | Size |\n|------|------|\n| NANO | 0.5B |\n| LARGE | 14B |\n\n"
    "The area is $\\pi r^2$, and $$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$ for $5 or $10.\n\n"
    f"```python\n{LONG}\n```\n"
)


def _view(qtbot: QtBot, text: str = ANSWER) -> MessageView:
    view = MessageView("assistant", text)
    qtbot.addWidget(view)
    view.resize(640, 900)
    view.show()
    qtbot.waitExposed(view)
    return view


def _code_frames(body: MessageBody) -> list[QTextFrame]:
    frames = body.document().rootFrame().childFrames()
    return [frame for frame in frames if not isinstance(frame, QTextTable)]


def _frame_text(frame: QTextFrame) -> str:
    cursor = QTextCursor(frame.firstCursorPosition())
    cursor.setPosition(frame.lastPosition(), QTextCursor.MoveMode.KeepAnchor)
    return cursor.selection().toPlainText()


def _anchor_point(body: MessageBody, href: str) -> QPoint:
    """Where the link to `href` is drawn, in the body's viewport."""
    block = body.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().anchorHref() == href:
                cursor = QTextCursor(body.document())
                cursor.setPosition(fragment.position() + 1)
                return body.cursorRect(cursor).center()
            iterator += 1
        block = block.next()
    raise AssertionError(f"no link to {href}")


def test_each_copy_link_copies_exactly_its_blocks_code(qtbot: QtBot) -> None:
    view = _view(qtbot)
    body = view.body
    assert body.code_blocks == [PYTHON.rstrip("\n"), SHELL, LONG]
    clipboard = QGuiApplication.clipboard()
    for index in (1, 0, 2):  # a real click on each block's Copy link
        clipboard.setText("before")
        point = _anchor_point(body, f"copy:{index}")
        qtbot.mouseClick(body.viewport(), Qt.MouseButton.LeftButton, pos=point)
        assert clipboard.text() == body.code_blocks[index]
    # By keyboard: Tab reaches the first link, Enter follows it.
    clipboard.setText("before")
    body.setFocus()
    qtbot.keyClick(body, Qt.Key.Key_Tab)
    qtbot.keyClick(body, Qt.Key.Key_Return)
    assert clipboard.text() == PYTHON.rstrip("\n")


def test_highlighting_keeps_the_code_text_and_colours_it(qtbot: QtBot) -> None:
    view = _view(qtbot)
    body = view.body
    frames = _code_frames(body)
    assert [_frame_text(frame) for frame in frames] == body.code_blocks
    # Several colours inside the Python block: keyword, comment, string, …
    colours = set()
    cursor = QTextCursor(frames[0].firstCursorPosition())
    while cursor.position() < frames[0].lastPosition():
        cursor.movePosition(QTextCursor.MoveOperation.NextCharacter)
        colours.add(cursor.charFormat().foreground().color().name())
    syntax = theme.current().syntax
    assert {syntax["keyword"], syntax["comment"], syntax["string"]} <= colours
    font = cursor.charFormat().font()
    assert font.fixedPitch() or "mono" in font.family().lower()
    samples = (("python", PYTHON), ("bash", SHELL), ("rust", "fn main() {}\r\n"), ("", "a\tb"))
    for language, code in samples:
        assert "".join(text for _, text in tokens(language, code)) == code


def test_long_code_lines_scroll_sideways_instead_of_wrapping(qtbot: QtBot) -> None:
    view = _view(qtbot)
    body = view.body
    long_block = _code_frames(body)[2].firstCursorPosition().block()
    assert long_block.layout().lineCount() == 1  # one line, however wide
    assert body.horizontalScrollBar().maximum() > 0
    assert body.horizontalScrollBar().isVisible()
    # The prose still wraps at the message's width.
    assert body.document().textWidth() < body.document().idealWidth()


def test_tables_have_borders_and_maths_reads_as_text(qtbot: QtBot) -> None:
    view = _view(qtbot)
    body = view.body
    tables = [f for f in body.document().rootFrame().childFrames() if isinstance(f, QTextTable)]
    assert len(tables) == 1
    table_format = tables[0].format()
    assert table_format.border() >= 1 and table_format.cellPadding() >= 4
    assert table_format.borderBrush().color().name() == theme.current().table_border
    text = body.toPlainText()
    assert "π r²" in text and "∑ᵢ₌₁ⁿ i = (n(n+1))/2" in text
    assert "$5 or $10" in text  # money is not maths
    assert "\\frac" not in text and "$$" not in text


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_streaming_renders_each_block_as_it_closes_and_ends_as_one_render(
    qtbot: QtBot, chunk: int
) -> None:
    streamed = MessageView("assistant")
    qtbot.addWidget(streamed)
    body = streamed.body
    first_close = ANSWER.index("```\n", ANSWER.index("```python") + 3) + 4
    for start in range(0, len(ANSWER), chunk):
        body.append_plain(ANSWER[start : start + chunk])
        if start + chunk >= first_close:
            # The first block is rendered (and copyable) as soon as its fence closed.
            assert body.code_blocks[:1] == [PYTHON.rstrip("\n")]
            assert _frame_text(_code_frames(body)[0]) == PYTHON.rstrip("\n")
            assert "```python\ndef greet" not in body.toPlainText()
    body.set_markdown(ANSWER)
    at_once = _view(qtbot)
    assert body.toPlainText() == at_once.body.toPlainText()
    assert body.code_blocks == at_once.body.code_blocks
    assert [_frame_text(f) for f in _code_frames(body)] == body.code_blocks


def test_an_unclosed_fence_at_the_end_is_still_a_code_block(qtbot: QtBot) -> None:
    view = _view(qtbot, "Start:\n\n```python\nprint('cut off')")
    assert view.body.code_blocks == ["print('cut off')"]
    assert _frame_text(_code_frames(view.body)[0]) == "print('cut off')"
