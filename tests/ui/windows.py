"""Driving the real main window in tests as a user does: send a prompt, wait for the stored
answer, open a conversation from the sidebar."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.ui.main_window import MainWindow

ANSWER_TIMEOUT_MS = 120_000
STORE_TIMEOUT_MS = 10_000


def open_window(qtbot: QtBot, home: Path, max_tokens: int = 24) -> MainWindow:
    """The window on the data folder `home`, answering greedily, at most `max_tokens` long."""
    paths = DataPaths(home).ensure()
    settings = load_settings(paths.settings)
    save_settings(paths.settings, replace(settings, temperature=0.0, max_tokens=max_tokens))
    window = MainWindow(paths)
    qtbot.addWidget(window)
    window.show()
    return window


def send(qtbot: QtBot, window: MainWindow, prompt: str) -> None:
    window.pane.prompt.setPlainText(prompt)
    qtbot.keyClick(window.pane.prompt, Qt.Key.Key_Return)


def wait_idle(qtbot: QtBot, window: MainWindow) -> None:
    """Until the answer (or its error) is stored and the next prompt may go."""
    qtbot.waitUntil(lambda: window.answer is None, timeout=ANSWER_TIMEOUT_MS)


def open_conversation(qtbot: QtBot, window: MainWindow, conversation_id: int) -> None:
    """Pick the conversation in the sidebar and wait until its messages are shown."""
    sidebar = window.sidebar
    row = sidebar.conversations.row_of(conversation_id)
    assert row is not None, f"conversation {conversation_id} is not listed"
    with qtbot.waitSignal(window.controller.opened, timeout=STORE_TIMEOUT_MS):
        sidebar.list_view.setCurrentIndex(sidebar.conversations.index(row))


def wait_listed(qtbot: QtBot, window: MainWindow, rows: int) -> None:
    """Until the sidebar lists `rows` conversations (it is read off the GUI thread)."""
    qtbot.waitUntil(
        lambda: window.sidebar.conversations.rowCount() == rows, timeout=STORE_TIMEOUT_MS
    )
