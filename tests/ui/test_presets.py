"""Presets in the window, with the real starter model: picked per conversation, applied to the
answer (its receipt says so), restored with the conversation, and saved from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QWidget
from pytestqt.qtbot import QtBot

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.ui.main_window import MainWindow
from tests.ui.windows import open_conversation, send, wait_idle

pytestmark = pytest.mark.model


@pytest.fixture
def window(qtbot: QtBot, bizra_home: Path) -> Iterator[MainWindow]:
    paths = DataPaths(bizra_home).ensure()
    save_settings(paths.settings, replace(load_settings(paths.settings), max_tokens=6))
    instance = MainWindow(paths)
    qtbot.addWidget(instance)
    instance.show()
    yield instance
    instance.close()


def _ask(qtbot: QtBot, window: MainWindow, prompt: str) -> dict[str, object]:
    send(qtbot, window, prompt)
    wait_idle(qtbot, window)
    assert window.conversation_id is not None
    last = window.store.messages(window.conversation_id)[-1]
    assert last.role == "assistant" and last.receipt_hash is not None, last.content
    receipt = window.pipeline.chain.get(last.receipt_hash)
    assert receipt is not None
    return dict(receipt.body["params"])


def test_a_conversation_answers_with_its_preset_and_keeps_it(
    qtbot: QtBot, window: MainWindow
) -> None:
    picker = window.pane.preset_picker
    assert [picker.itemText(i) for i in range(picker.count())] == [
        "Settings",
        "Precise",
        "Balanced",
        "Creative",
        "Code",
    ]
    assert "temperature 0.2" in picker.itemData(1, Qt.ItemDataRole.ToolTipRole)
    plain = _ask(qtbot, window, "Hello!")
    assert (plain["temperature"], plain["max_tokens"]) == (0.7, 6)
    first = window.conversation_id

    window.new_chat()
    picker.setCurrentIndex(picker.findData("Creative"))
    creative = _ask(qtbot, window, "Tell me a story.")
    assert (creative["temperature"], creative["top_p"], creative["max_tokens"]) == (1.0, 0.95, 6)
    second = window.conversation_id
    assert second is not None and second != first
    assert window.store.get(second).preset == "Creative"

    # Opening a conversation shows its own preset; changing it applies from the next prompt.
    assert first is not None
    open_conversation(qtbot, window, first)
    assert picker.currentText() == "Settings"
    picker.setCurrentIndex(picker.findData("Precise"))
    assert _ask(qtbot, window, "And now?")["temperature"] == 0.2
    assert window.store.get(first).preset == "Precise"  # stored before the prompt went
    open_conversation(qtbot, window, second)
    assert picker.currentText() == "Creative"


def test_the_settings_can_be_saved_as_a_preset(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    window.apply_settings(replace(window.settings, temperature=0.33, system_prompt="Be terse."))

    def named(_parent: QWidget, _title: str, _label: str) -> tuple[str, bool]:
        return "Terse", True

    monkeypatch.setattr(QInputDialog, "getText", named)
    window.menu_actions.save_preset_action.trigger()
    picker = window.pane.preset_picker
    assert picker.currentText() == "Terse"
    preset = picker.current()
    assert preset is not None and (preset.temperature, preset.system_prompt) == (0.33, "Be terse.")
    window.apply_settings(replace(window.settings, temperature=1.2))  # the preset keeps 0.33
    assert _ask(qtbot, window, "Hi")["temperature"] == 0.33
    reopened = MainWindow(window.paths)
    qtbot.addWidget(reopened)
    try:
        assert reopened.pane.preset_picker.findData("Terse") > 0
    finally:
        reopened.close()
