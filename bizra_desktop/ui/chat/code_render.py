"""How an answer's code blocks and tables are drawn into its QTextDocument.

A code block: a header line (its language and a Copy link), then a framed, monospace block
whose lines never wrap (the body scrolls sideways instead), coloured by Pygments' lexer for
the language. Tokens are inserted as text with a colour each, never as HTML, so the block's
text is exactly the code: what Copy puts on the clipboard and what a screen reader reads.
"""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFrameFormat,
    QTextLength,
    QTextTable,
)

from bizra_desktop.ui.theme import SYNTAX_ROLES, Palette

# Pygments token types (their dotted names' first parts) → a theme syntax role.
_ROLES = {
    "Keyword": "keyword",
    "Literal.String": "string",
    "Literal.Number": "number",
    "Comment": "comment",
    "Name.Function": "function",
    "Name.Class": "function",
    "Name.Decorator": "function",
    "Name.Builtin": "builtin",
    "Name.Exception": "builtin",
}
assert set(_ROLES.values()) <= set(SYNTAX_ROLES)


def lexer_for(language: str) -> Lexer | None:
    """Pygments' lexer for a fence's language name, or None (the block stays uncoloured).
    Never guessed from the content: a guess is slow and often wrong on short snippets."""
    if not language:
        return None
    try:
        # Keep the text as it is: no stripped or added newlines, tabs left alone.
        return get_lexer_by_name(language, stripnl=False, stripall=False, ensurenl=False)
    except ClassNotFound:
        return None


def _role(token: _TokenType) -> str | None:
    while token.parent is not None:
        role = _ROLES.get(str(token).removeprefix("Token."))
        if role is not None:
            return role
        token = token.parent
    return None


def tokens(language: str, code: str) -> list[tuple[str | None, str]]:
    """(syntax role or None, text) runs whose texts join to exactly `code`."""
    lexer = lexer_for(language)
    if lexer is not None:
        runs = [(_role(token), text) for token, text in lexer.get_tokens(code)]
        if "".join(text for _, text in runs) == code:  # Pygments normalises \r\n and \r
            return runs
    return [(None, code)]


def insert_code(cursor: QTextCursor, language: str, code: str, index: int, p: Palette) -> None:
    """Block `index` of the message: header with a copy:`index` link, then the code."""
    header = QTextCharFormat()
    header.setForeground(QBrush(QColor(p.muted)))
    link = QTextCharFormat()
    link.setAnchor(True)
    link.setAnchorHref(f"copy:{index}")
    link.setForeground(QBrush(QColor(p.link)))
    link.setFontUnderline(True)
    cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    cursor.insertText(f"{language or 'code'}  ", header)
    cursor.insertText("Copy", link)
    frame = QTextFrameFormat()
    frame.setBackground(QColor(p.code_background))
    frame.setPadding(6)
    frame.setBorder(1)
    frame.setBorderBrush(QColor(p.code_border))
    frame.setBottomMargin(6)  # apart from the text that follows
    cursor.insertFrame(frame)
    lines = QTextBlockFormat()
    lines.setNonBreakableLines(True)  # long lines scroll sideways, as in an editor
    cursor.setBlockFormat(lines)
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    formats: dict[str | None, QTextCharFormat] = {}
    for role in (None, *SYNTAX_ROLES):
        char = QTextCharFormat()
        char.setFont(mono, QTextCharFormat.FontPropertiesInheritanceBehavior.FontPropertiesAll)
        char.setForeground(QBrush(QColor(p.syntax[role] if role else p.code_text)))
        if role == "comment":
            char.setFontItalic(True)
        formats[role] = char
    for role, text in tokens(language, code):
        cursor.insertText(text, formats[role])  # a "\n" starts a block with the same format
    cursor.movePosition(QTextCursor.MoveOperation.End)


def style_tables(document: QTextDocument, p: Palette) -> None:
    """Markdown tables with visible borders, padding and a shaded header row."""
    for frame in document.rootFrame().childFrames():
        if not isinstance(frame, QTextTable):
            continue
        table_format = frame.format()
        table_format.setBorder(1)
        table_format.setBorderBrush(QBrush(QColor(p.table_border)))
        table_format.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        table_format.setBorderCollapse(True)
        table_format.setCellPadding(5)
        table_format.setCellSpacing(0)
        table_format.setWidth(QTextLength(QTextLength.Type.VariableLength, 0))
        frame.setFormat(table_format)
        header = QTextCharFormat()
        header.setBackground(QBrush(QColor(p.table_header)))
        header.setFontWeight(QFont.Weight.Bold)
        for column in range(frame.columns()):
            frame.cellAt(0, column).setFormat(header)
