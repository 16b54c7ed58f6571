"""UI tests: no window, worker thread or timer may outlive its test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from bizra_desktop.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def nothing_left_running(qapp: QApplication) -> Iterator[None]:
    yield
    qapp.processEvents()
    visible = [widget for widget in qapp.topLevelWidgets() if widget.isVisible()]
    assert not visible, f"windows left open: {visible}"
    for widget in qapp.topLevelWidgets():
        if isinstance(widget, MainWindow):
            assert widget.worker.thread.isFinished(), "a generation thread is still running"
            assert not widget.render_timer.isActive() and not widget.status_timer.isActive()
