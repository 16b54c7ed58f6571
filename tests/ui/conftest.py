"""UI tests: no window, worker thread or timer may outlive its test, and the Qt objects a test
left in reference cycles are freed on the GUI thread, as the app's GuiThreadCollector does
(qasync's loop leaves such cycles; freed later by a download thread, they crash the process)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from bizra_desktop.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def nothing_left_running(qapp: QApplication) -> Iterator[None]:
    yield
    qapp.processEvents()
    gc.collect()
    visible = [widget for widget in qapp.topLevelWidgets() if widget.isVisible()]
    assert not visible, f"windows left open: {visible}"
    for widget in qapp.topLevelWidgets():
        if isinstance(widget, MainWindow):
            assert widget.worker.thread.isFinished(), "a generation thread is still running"
            assert not widget.render_timer.isActive() and not widget.status_timer.isActive()
