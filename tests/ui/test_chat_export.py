"""File → Export conversation… and File → Print… in the real window, offscreen, on a
conversation answered by the real starter model; and what a Markdown reader makes of a hostile
conversation's export (Qt's own CommonMark parser, md4c)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.chat_export import export_chat
from bizra_desktop.core.receipts.chat_render import visible
from bizra_desktop.core.receipts.export_verify import verify_export
from bizra_desktop.ui.chat_export_actions import EXPORT_FILTERS, PDF_FILTER
from bizra_desktop.ui.main_window import MainWindow
from tests.core.test_chat_export import HOSTILE, HOSTILE_TITLE, answered
from tests.ui.windows import open_window as _open
from tests.ui.windows import send as _send
from tests.ui.windows import wait_idle as _wait_idle

EXPORT_MS = 60_000


def _choose(monkeypatch: pytest.MonkeyPatch, path: Path, chosen: str) -> None:
    """The save dialog answers `path` with filter `chosen`, as a user picking them would."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args, **_kw: (str(path), chosen))


def _trigger(qtbot: QtBot, window: MainWindow, which: str) -> tuple[str, bool]:
    action = getattr(window.chat_export, f"{which}_action")
    with qtbot.waitSignal(window.chat_export.done, timeout=EXPORT_MS) as blocker:
        action.trigger()
    message, ok = blocker.args
    return message, ok


@pytest.mark.model
def test_export_each_format_and_print_a_real_conversation(
    qtbot: QtBot, bizra_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = _open(qtbot, bizra_home)
    try:
        file_menu = window.menuBar().actions()[0].menu()
        texts = [action.text() for action in file_menu.actions()]
        assert {"&Export conversation…", "&Print…"} <= set(texts)

        message, ok = _trigger(qtbot, window, "export")  # nothing open yet
        assert (message, ok) == (
            "Open a conversation first: there is nothing to export yet.",
            False,
        )

        _send(qtbot, window, "What is 2 + 2?")
        _wait_idle(qtbot, window)
        answer = window.store.messages(window.conversation_id or 0)[-1]
        assert answer.role == "assistant" and answer.receipt_hash

        for chosen, fmt in EXPORT_FILTERS.items():
            _choose(monkeypatch, tmp_path / f"chat-{fmt}", chosen)  # no suffix typed
            message, ok = _trigger(qtbot, window, "export")
            out = tmp_path / f"chat-{fmt}.{fmt}"
            assert ok, message
            assert message.startswith("exported “What is 2 + 2?” (2 messages, 1 answer proven")
            assert window.statusBar().currentMessage() == message
            report = verify_export(out)
            assert report.ok, report.message
            assert (report.count, report.commitments) == (1, 1)
            if fmt != "json":
                assert answer.receipt_hash in out.read_text(encoding="utf-8")

        _choose(monkeypatch, tmp_path / "chat", PDF_FILTER)
        message, ok = _trigger(qtbot, window, "print")
        pdf = tmp_path / "chat.pdf"
        assert (message, ok) == (f"Printed the conversation to {pdf}", True)
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert len(data) > 5_000  # text and fonts, not an empty page
    finally:
        window.close()
    assert window.chat_export.idle


def test_a_markdown_reader_shows_a_hostile_export_as_text(bizra_home: Path, tmp_path: Path) -> None:
    db = bizra_home / "bizra.sqlite3"
    out = tmp_path / "chat.md"
    with ReceiptChain(db) as chain, ConversationStore(db) as store:
        chat = store.create(HOSTILE_TITLE).id
        answered(chain, store, chat, HOSTILE, f"echo: {HOSTILE}")
        export_chat(chain, store, chat, out, "md")
    document = QTextDocument()
    document.setMarkdown(out.read_text(encoding="utf-8"))

    headings, code, anchors = [], [], 0
    block = document.begin()
    while block.isValid():
        if block.blockFormat().headingLevel():
            headings.append(block.text())
        if block.blockFormat().nonBreakableLines():  # a code block
            code.append(block.text())
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            char_format = fragment.charFormat()
            anchors += char_format.isAnchor() or char_format.isImageFormat()
            iterator += 1
        block = block.next()

    assert headings[0] == HOSTILE_TITLE  # the escapes read as the title itself
    assert [heading.split(" · ")[1] for heading in headings[1:]] == ["You", "BIZRA"]
    assert anchors == 0  # no link and no image, though the texts are full of them
    assert "\n".join(code).count(visible(HOSTILE)) == 2  # the prompt and the answer, verbatim
