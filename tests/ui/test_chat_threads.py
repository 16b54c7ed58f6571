"""The window never touches SQLite on the GUI thread while it sends a prompt, streams the
answer and stores it (#16): every statement run on the app database is traced with the thread
that ran it, while real prompts go through the real window and the real starter model."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from bizra_desktop.core import db
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.ui.conversation_list import ConversationIdRole
from bizra_desktop.ui.main_window import MainWindow
from tests.ui.windows import open_conversation, send, wait_idle, wait_listed

pytestmark = pytest.mark.model


class StatementLog:
    """Each SQL statement run while recording, with whether the GUI (main) thread ran it."""

    def __init__(self) -> None:
        self.recording = False
        self.statements: list[tuple[bool, str]] = []
        self._lock = threading.Lock()

    def connect(self, db_path: Path) -> sqlite3.Connection:
        conn = _real_connect(db_path)
        conn.set_trace_callback(self._trace)  # called on the thread that runs the statement
        return conn

    def _trace(self, statement: str) -> None:
        if self.recording:
            on_gui = threading.current_thread() is threading.main_thread()
            with self._lock:
                self.statements.append((on_gui, statement))

    def on_gui_thread(self) -> list[str]:
        return [statement for on_gui, statement in self.statements if on_gui]


_real_connect = db.connect


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> StatementLog:
    traced = StatementLog()
    monkeypatch.setattr(db, "connect", traced.connect)  # every store opens through it
    return traced


@pytest.fixture
def window(qtbot: QtBot, bizra_home: Path, log: StatementLog) -> Iterator[MainWindow]:
    paths = DataPaths(bizra_home).ensure()
    settings = load_settings(paths.settings)
    save_settings(paths.settings, replace(settings, temperature=0.0, max_tokens=8))
    instance = MainWindow(paths)
    qtbot.addWidget(instance)
    instance.show()
    yield instance
    log.recording = False  # closing may write on this thread: the window is gone then
    instance.close()


def test_no_sqlite_statement_runs_on_the_gui_thread_during_send_stream_and_finish(
    qtbot: QtBot, window: MainWindow, log: StatementLog
) -> None:
    window.store.create("An older conversation")
    window.controller.refresh()
    wait_listed(qtbot, window, 1)
    older = window.sidebar.conversations.index(0).data(ConversationIdRole)
    log.recording = True

    send(qtbot, window, "What is 2 + 2?")  # a new conversation: created, then the exchange
    wait_idle(qtbot, window)
    send(qtbot, window, "And 3 + 3?")  # with the first exchange as history
    wait_idle(qtbot, window)
    window.pane.regenerate_button.click()  # another answer: a variant beside the first
    wait_idle(qtbot, window)
    window.pane.bigger_button.click()  # escalation remembered, answered by a bigger tier
    wait_idle(qtbot, window)
    answered = window.conversation_id
    open_conversation(qtbot, window, older)  # switching reads the other one's messages
    assert answered is not None
    open_conversation(qtbot, window, answered)
    log.recording = False

    assert [v.role for v in window.pane.chat.messages()] == ["user", "assistant"] * 2
    written = [statement for _on_gui, statement in log.statements]
    # The trace saw the work: two prompts and four answers (two of them variants of the
    # second prompt's), the answers' receipts, the switch of the branch each variant made.
    assert sum("INSERT INTO messages" in statement for statement in written) == 6
    assert any("INSERT INTO receipts" in statement for statement in written)
    assert any("UPDATE messages SET chosen" in statement for statement in written)
    assert log.on_gui_thread() == []
