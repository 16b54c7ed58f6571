"""Edit and branch in the real window with the real starter model (#17 part 1): an earlier
prompt edited and sent starts a new branch, Regenerate adds a variant of an answer, "< 2/3 >"
switches between them, the history the model is given is the current branch, and the choice
survives a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from bizra_desktop.core.receipts.record import history_commitment
from bizra_desktop.ui.chat.message_view import MessageView
from bizra_desktop.ui.main_window import MainWindow
from tests.ui.windows import STORE_TIMEOUT_MS, open_window, send, wait_idle

pytestmark = pytest.mark.model


def _open(qtbot: QtBot, home: Path) -> MainWindow:
    return open_window(qtbot, home, max_tokens=8)


@pytest.fixture
def window(qtbot: QtBot, bizra_home: Path) -> Iterator[MainWindow]:
    instance = _open(qtbot, bizra_home)
    yield instance
    instance.close()


def _shown(window: MainWindow) -> list[tuple[str, str, str]]:
    """Each message shown: its role, its text and its "2/3" (empty without other versions)."""
    return [
        (
            view.role,
            view.body.toPlainText().strip(),
            view.variants.label.text() if view.variants.isVisibleTo(view) else "",
        )
        for view in window.pane.chat.messages()
    ]


def _click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def _step(qtbot: QtBot, window: MainWindow, view: MessageView, step: int) -> None:
    """Click the view's previous (-1) or next (+1) arrow; wait for the branch it shows."""
    with qtbot.waitSignal(window.controller.reloaded, timeout=STORE_TIMEOUT_MS):
        _click(qtbot, view.variants.previous if step < 0 else view.variants.next)


def test_regenerate_makes_a_variant_and_the_arrows_switch_between_them(
    qtbot: QtBot, bizra_home: Path
) -> None:
    window = _open(qtbot, bizra_home)
    try:
        send(qtbot, window, "What is 2 + 2?")
        wait_idle(qtbot, window)
        first = _shown(window)[-1]
        assert first[2] == ""  # one answer: no arrows
        _click(qtbot, window.pane.regenerate_button)
        wait_idle(qtbot, window)
        assert [label for *_, label in _shown(window)] == ["", "2/2"]
        answer = window.pane.chat.messages()[-1]
        assert answer.variants.previous.isEnabled() and not answer.variants.next.isEnabled()
        assert answer.variants.previous.accessibleName() == "Previous answer"

        _step(qtbot, window, answer, -1)
        assert _shown(window)[-1] == (first[0], first[1], "1/2")
        assert window.conversation_id is not None
        stored = window.store.messages(window.conversation_id)  # the current branch
        assert [m.role for m in stored] == ["user", "assistant"]
        assert stored[1].id == window.controller.messages[1].id
        conversation = window.conversation_id
    finally:
        window.close()

    again = _open(qtbot, bizra_home)  # the choice is kept
    try:
        qtbot.waitUntil(lambda: len(again.pane.chat.messages()) == 2, timeout=STORE_TIMEOUT_MS)
        assert again.conversation_id == conversation
        assert [label for *_, label in _shown(again)] == ["", "1/2"]
    finally:
        again.close()


def test_an_edited_prompt_starts_a_branch_whose_history_the_model_gets(
    qtbot: QtBot, window: MainWindow
) -> None:
    send(qtbot, window, "My name is Ada.")
    wait_idle(qtbot, window)
    send(qtbot, window, "What is my name?")
    wait_idle(qtbot, window)
    original = _shown(window)
    assert window.conversation_id is not None

    first_prompt = window.pane.chat.messages()[0]
    _click(qtbot, first_prompt.edit)
    assert window.pane.prompt.toPlainText() == "My name is Ada."
    assert window.pane.edit_note.isVisibleTo(window.pane)
    window.pane.prompt.setPlainText("My name is Grace.")
    qtbot.keyClick(window.pane.prompt, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert not window.pane.edit_note.isVisibleTo(window.pane)
    shown = _shown(window)
    assert [(role, label) for role, _text, label in shown] == [("user", "2/2"), ("assistant", "")]
    assert shown[0][1] == "My name is Grace."

    # The next prompt goes on from the edited branch: its history is that branch alone.
    send(qtbot, window, "What is my name?")
    wait_idle(qtbot, window)
    branch = window.store.messages(window.conversation_id)
    assert [m.content for m in branch if m.role == "user"] == [
        "My name is Grace.",
        "What is my name?",
    ]
    # The receipt commits to the turns the model was given: the edited branch's, not Ada's.
    receipt_hash = branch[-1].receipt_hash
    assert receipt_hash is not None
    last = window.pipeline.chain.get(receipt_hash)
    assert last is not None
    with closing(sqlite3.connect(window.paths.database)) as conn:
        (salt,) = conn.execute(
            "SELECT salt FROM commitment_salts WHERE receipt_hash = ?", (receipt_hash,)
        ).fetchone()
    sent = [{"role": m.role, "content": m.content} for m in branch[:2]]
    assert last.body["history"] == {"turns": 2, "commitment": history_commitment(sent, salt)}
    ada = [{"role": "user", "content": "My name is Ada."}, {**sent[1]}]
    assert history_commitment(ada, salt) != last.body["history"]["commitment"]

    # Back to the first version of the prompt: the original branch, whole.
    _step(qtbot, window, window.pane.chat.messages()[0], -1)
    assert [(r, t) for r, t, _label in _shown(window)] == [(r, t) for r, t, _label in original]
    assert _shown(window)[0][2] == "1/2"


def test_escape_stops_editing(qtbot: QtBot, window: MainWindow) -> None:
    send(qtbot, window, "Hello!")
    wait_idle(qtbot, window)
    _click(qtbot, window.pane.chat.messages()[0].edit)
    assert window.pane.edit_note.isVisibleTo(window.pane)
    window.activateWindow()  # a window's shortcuts work while it is the active one
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.pane.prompt, Qt.Key.Key_Escape)
    assert not window.pane.edit_note.isVisibleTo(window.pane)
    send(qtbot, window, "And again")  # an ordinary prompt at the end of the branch
    wait_idle(qtbot, window)
    assert [label for *_, label in _shown(window)] == ["", "", "", ""]
