"""The main window's menus and their actions (the window connects them)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow

from bizra_desktop.ui.chat_export_actions import ChatExportActions


@dataclass(frozen=True, kw_only=True)
class WindowActions:
    new_action: QAction
    settings_action: QAction
    quit_action: QAction
    browse_receipts_action: QAction
    verify_action: QAction
    manage_models_action: QAction
    reset_learning_action: QAction
    save_preset_action: QAction
    first_run_action: QAction
    shortcuts_action: QAction


def build_menus(window: QMainWindow, export: ChatExportActions) -> WindowActions:
    """File (with the export's actions), Receipts, Models, Routing and Help."""

    def action(text: str, keys: str | None = None) -> QAction:
        made = QAction(text, window)
        if keys:
            made.setShortcut(QKeySequence(keys))
        return made

    actions = WindowActions(
        new_action=action("&New chat", "Ctrl+N"),
        settings_action=action("&Settings…", "Ctrl+,"),
        quit_action=action("&Quit", "Ctrl+Q"),
        browse_receipts_action=action("&Browse receipts…", "Ctrl+R"),
        verify_action=action("&Verify the receipt chain"),
        manage_models_action=action("&Manage models…", "Ctrl+M"),
        reset_learning_action=action("&Forget what escalations taught"),
        save_preset_action=action("&Save settings as preset…"),
        first_run_action=action("&First-run guide…"),
        shortcuts_action=action("&Keyboard shortcuts…", "F1"),
    )
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for item in (actions.new_action, actions.settings_action, actions.quit_action):
        file_menu.addAction(item)
    export.add_to(file_menu, before=actions.settings_action)
    for title, items in (
        ("&Receipts", (actions.browse_receipts_action, actions.verify_action)),
        ("&Models", (actions.manage_models_action,)),
        ("R&outing", (actions.reset_learning_action, actions.save_preset_action)),
        ("&Help", (actions.first_run_action, actions.shortcuts_action)),
    ):
        menu = bar.addMenu(title)
        for item in items:
            menu.addAction(item)
    return actions
