"""Screen readers and the keyboard, on the real windows offscreen: every interactive control
has an accessible name and description (read back through QAccessible, as assistive
technology reads them), Tab walks the main window in order, and Help → Keyboard shortcuts
lists the shortcuts the window really has."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QTabBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from bizra_desktop.core.conversations import Variants
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.chat.message_view import MessageView
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.models.manager_window import ModelManagerWindow
from bizra_desktop.ui.receipts.browser import ReceiptBrowser
from bizra_desktop.ui.settings_dialog import SettingsDialog
from bizra_desktop.ui.shortcuts_dialog import ShortcutsDialog
from tests.helpers import recorded_machine

WAIT_MS = 60_000
INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QAbstractSpinBox,
    QComboBox,
    QAbstractItemView,
    QPlainTextEdit,
    QTextEdit,
    QTabBar,
    QSlider,
)
Role = QAccessible.Role
CONTROL_ROLES = {
    Role.PushButton,
    Role.CheckBox,
    Role.RadioButton,
    Role.ButtonMenu,
    Role.ButtonDropDown,
    Role.EditableText,
    Role.ComboBox,
    Role.SpinBox,
    Role.List,
    Role.Table,
    Role.Tree,
    Role.PageTabList,
    Role.Slider,
    Role.StaticText,  # read-only text that takes focus: a message, the receipt's JSON
}


def unnamed_controls(root: QWidget) -> list[str]:
    """Each visible interactive control under `root` (toolbar buttons included) whose
    accessible interface lacks a control role, a name or a description."""
    problems = []
    for widget in (root, *root.findChildren(QWidget)):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible():
            continue
        # Qt's own parts of a control: a header's sections are named by their labels, a
        # spin box's inner line edit and a table's corner button are the parent's.
        if isinstance(widget, QHeaderView) or widget.objectName().startswith("qt_"):
            continue
        if type(widget).__name__ == "QTableCornerButton":
            continue
        iface = QAccessible.queryAccessibleInterface(widget)
        assert iface is not None and iface.isValid()
        name = iface.text(QAccessible.Text.Name).strip()
        description = iface.text(QAccessible.Text.Description).strip()
        role = iface.role()
        if role not in CONTROL_ROLES or not name or not description:
            label = f"{type(widget).__name__} {widget.objectName() or ''} {name!r}"
            problems.append(f"{label}: role {role.name}, description {description!r}")
    return problems


@pytest.fixture
def window(qtbot: QtBot, paths: DataPaths) -> Iterator[MainWindow]:
    instance = MainWindow(paths)
    qtbot.addWidget(instance)
    instance.show()
    qtbot.waitExposed(instance)
    yield instance
    instance.close()


def test_the_main_window_and_its_messages_name_every_control(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.store.create("A conversation")
    window.controller.refresh()
    prompt = window.pane.chat.add(MessageView("user", "Show me code"))
    prompt.set_editable(True)
    answer = window.pane.chat.add(MessageView("assistant", "```python\nprint(1)\n```"))
    answer.set_badge("simple", "NANO", "Qwen2.5-0.5B", "why")
    answer.variants.show_variants(Variants(ids=(1, 2, 3), index=1))  # a branched answer: "2/3"
    window.pane.chat.add(MessageView("error", "The model stopped"))
    window.pane.update_controls()
    qtbot.wait(10)
    assert prompt.edit.isVisible() and answer.variants.next.isVisible()
    assert unnamed_controls(window) == []
    for widget in (
        window.pane.prompt,
        window.pane.send_button,
        window.pane.tier_picker,
        window.sidebar.list_view,
    ):
        assert widget.accessibleName() and widget.accessibleDescription()


def test_the_settings_dialog_names_every_control(qtbot: QtBot, window: MainWindow) -> None:
    dialog = SettingsDialog(window.settings, str(window.paths.root), (), window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.gpu_auto.setChecked(False)  # the layers box enabled too
    assert unnamed_controls(dialog) == []
    dialog.close()


@pytest.mark.usefixtures("offline")
def test_the_model_manager_names_every_control(qtbot: QtBot, paths: DataPaths) -> None:
    pipeline = Pipeline(paths)
    manager = ModelManagerWindow(paths, pipeline, None)
    qtbot.addWidget(manager)
    manager.show()
    qtbot.waitUntil(lambda: manager.tiers.status(Tier.LARGE) is not None, timeout=WAIT_MS)
    try:
        assert unnamed_controls(manager) == []
    finally:
        manager.close()
        pipeline.close()


def test_the_receipt_browser_names_every_control(qtbot: QtBot, window: MainWindow) -> None:
    window.menu_actions.browse_receipts_action.trigger()
    browser = window.findChild(ReceiptBrowser)
    assert browser is not None
    qtbot.waitUntil(lambda: browser.reader.idle and browser.jobs.idle, timeout=WAIT_MS)
    browser.filters.text_edit.setText("x")  # its clear button shows
    try:
        for tab in (browser.receipts_tab, browser.impact):
            browser.tabs.setCurrentWidget(tab)
            assert unnamed_controls(browser) == []
    finally:
        with qtbot.waitSignal(browser.destroyed):
            browser.close()


@pytest.mark.usefixtures("offline")
def test_the_first_run_guide_names_every_control(qtbot: QtBot, window: MainWindow) -> None:
    guide = window.open_first_run_guide(recorded_machine("laptop-8gb"))
    qtbot.waitUntil(lambda: guide.recommendation is not None, timeout=WAIT_MS)
    assert unnamed_controls(guide) == []
    guide.close()


def test_tab_walks_the_main_window_in_order(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.sidebar.search.setFocus()
    visited = [QApplication.focusWidget()]
    for _ in range(9):
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        visited.append(QApplication.focusWidget())
    # Regenerate, Ask a bigger model and Stop are disabled in an empty chat: Tab skips them.
    expected = [
        window.sidebar.search,
        window.sidebar.list_view,
        window.sidebar.new_button,
        window.sidebar.rename_button,
        window.sidebar.delete_button,
        window.pane.chat,
        window.pane.tier_picker,
        window.pane.preset_picker,
        window.pane.prompt,  # Tab leaves the prompt box rather than typing a tab
        window.pane.send_button,
    ]
    assert visited == expected
    assert window.pane.prompt.toPlainText() == ""
    qtbot.keyClick(window.pane.send_button, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is window.pane.prompt
    # The focused control is drawn with the theme's focus ring.
    assert "QPushButton:focus" in QApplication.instance().styleSheet()  # type: ignore[union-attr]


def _plain(text: str) -> str:
    return re.sub(r"&(.)", r"\1", text)


def test_the_shortcuts_dialog_lists_the_windows_real_shortcuts(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F1)  # Help → Keyboard shortcuts, by its own shortcut
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible()
    table = dialog.table
    listed = {
        (table.item(row, 0).text(), table.item(row, 1).text()) for row in range(table.rowCount())
    }
    native = QKeySequence.SequenceFormat.NativeText
    expected = {
        (_plain(action.text()), action.shortcut().toString(native))
        for action in window.findChildren(QAction)
        if not action.shortcut().isEmpty()
    } | {
        (shortcut.whatsThis(), shortcut.key().toString(native))
        for shortcut in window.findChildren(QShortcut)
    }
    assert listed == expected
    for row in (
        ("New chat", "Ctrl+N"),
        ("Stop the answer", "Esc"),
        ("Keyboard shortcuts…", "F1"),
        ("Go to the message box", "Ctrl+L"),
        ("Manage models…", "Ctrl+M"),
    ):
        assert row in listed
    assert unnamed_controls(dialog) == []
    dialog.close()
    # A listed shortcut does what it says.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.sidebar.search, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.pane.prompt
