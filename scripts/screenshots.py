#!/usr/bin/env python3
"""Regenerate docs/screenshots/ from the real app (offscreen, real model, a scratch BIZRA_HOME).

.venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.settings_dialog import SettingsDialog
from bizra_desktop.ui.style import STYLESHEET

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PROMPTS = (
    "Hello!",
    "Write a Python function that checks whether a number is prime, in a code block.",
)


def _wait(app: QApplication, done: object, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.01)


def _save(widget: QWidget, name: str) -> None:
    path = OUT / name
    widget.grab().save(str(path))
    print(f"wrote {path}")


def main() -> int:
    app = QApplication(sys.argv)
    app.setStyleSheet(STYLESHEET)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bizra-shots-") as scratch:
        paths = DataPaths(Path(scratch)).ensure()
        save_settings(paths.settings, replace(load_settings(paths.settings), max_tokens=160))
        window = MainWindow(paths)
        window.resize(1200, 800)
        window.show()
        _save(window, "empty.png")
        for prompt in PROMPTS:
            window.prompt.setPlainText(prompt)
            window.send()
            _wait(app, lambda: window.answer is None)
        window.store.create("Trip ideas for Lisbon")
        window.store.create("Rust lifetimes question")
        window.conversations.refresh()
        _wait(app, lambda: False, timeout_s=0.3)
        _save(window, "chat.png")

        window.prompt.setPlainText("Write a very long story about a lighthouse keeper.")
        window.send()
        _wait(app, lambda: window.answer is not None and len(window.answer.text) > 40)
        _save(window, "streaming.png")
        window.stop()
        _wait(app, lambda: window.answer is None)

        dialog = SettingsDialog(window.settings, str(paths.root), window)
        dialog.show()
        _wait(app, lambda: False, timeout_s=0.3)
        _save(dialog, "settings.png")
        dialog.close()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
