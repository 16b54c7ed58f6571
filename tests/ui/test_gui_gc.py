"""Cycles holding Qt objects are freed on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from bizra_desktop.ui.app import create_application
from bizra_desktop.ui.gui_gc import INTERVAL_MS, GuiThreadCollector


def _garbage_cycle_holding(item: QObject) -> list[int]:
    """Make `item` reachable only through a reference cycle; the ids of the threads that run
    its destructor (one, once it is freed)."""
    destroyed_in: list[int] = []
    item.destroyed.connect(
        lambda *_: destroyed_in.append(threading.get_ident()), Qt.ConnectionType.DirectConnection
    )
    cycle: dict[str, object] = {"item": item}
    cycle["self"] = cycle
    return destroyed_in


def _allocate_on_a_worker_thread() -> None:
    """What a download or a generation worker does: allocate containers, enough to pass the
    youngest generation's threshold many times over."""

    def churn() -> None:
        for _ in range(20 * gc.get_threshold()[0]):
            node: list[object] = []
            node.append(node)

    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()


@pytest.fixture
def collector(qapp: QApplication) -> Iterator[GuiThreadCollector]:
    owner = QObject()
    instance = GuiThreadCollector(owner)
    yield instance
    shiboken6.delete(owner)
    assert gc.isenabled(), "automatic collection is back once the collector is gone"


def test_without_it_a_worker_thread_frees_the_cycle(qapp: QApplication) -> None:
    """The hazard itself, shown with an object Qt lets any thread destroy."""
    assert gc.isenabled()
    destroyed_in = _garbage_cycle_holding(QObject())
    _allocate_on_a_worker_thread()
    assert destroyed_in and destroyed_in[0] != threading.get_ident()


def test_with_it_the_gui_thread_frees_the_cycle_on_its_timer(
    qtbot: QtBot, collector: GuiThreadCollector
) -> None:
    assert not gc.isenabled()
    timer = QTimer()
    timer.start(60_000)  # a running timer: Qt refuses to stop it from another thread
    destroyed_in = _garbage_cycle_holding(timer)
    del timer
    _allocate_on_a_worker_thread()
    assert not destroyed_in, "the worker thread collected"
    qtbot.waitUntil(lambda: bool(destroyed_in), timeout=20 * INTERVAL_MS)
    assert destroyed_in == [threading.get_ident()]


def test_the_collector_keeps_to_pythons_thresholds(collector: GuiThreadCollector) -> None:
    gc.collect()
    assert collector.collect_due() == 0  # nothing is due right after a full collection
    _garbage_cycle_holding(QObject())
    _allocate_on_a_worker_thread()  # far past the youngest generation's threshold
    assert collector.collect_due() > 0
    assert gc.get_count()[0] < gc.get_threshold()[0]


def test_the_application_has_one_collector(qapp: QApplication) -> None:
    try:
        app = create_application()
        create_application()
        assert app is qapp and len(app.findChildren(GuiThreadCollector)) == 1
        assert not gc.isenabled()
    finally:
        for installed in qapp.findChildren(GuiThreadCollector):
            shiboken6.delete(installed)
    assert gc.isenabled()
