"""UI tests: no window, worker thread or timer may outlive its test, and the Qt objects a test
left in reference cycles are freed on the GUI thread, as the app's GuiThreadCollector does
(qasync's loop leaves such cycles; freed later by a download thread, they crash the process)."""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants as hf_constants
from PySide6.QtWidgets import QApplication

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.ui.main_window import MainWindow
from tests.hub_server import HubServer


@pytest.fixture(autouse=True)
def nothing_left_running(qapp: QApplication) -> Iterator[None]:
    yield
    qapp.processEvents()
    gc.collect()
    visible = [widget for widget in qapp.topLevelWidgets() if widget.isVisible()]
    assert not visible, f"windows left open: {visible}"
    for widget in qapp.topLevelWidgets():
        if isinstance(widget, MainWindow):
            assert widget.controller.generation.thread.isFinished(), "a generation thread runs"
            assert not widget.controller.jobs.running, "the conversation store's thread runs"
            assert not widget.pane.render_timer.isActive() and not widget.status.timer.isActive()


def _point_huggingface_hub_at(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    """What HF_ENDPOINT does when huggingface_hub is imported (these two constants), for a
    window that makes its Hub the way the app does; and no token of the user's."""
    monkeypatch.setattr(hf_constants, "ENDPOINT", url)
    template = url + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(home / "hf-token"))
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def paths(bizra_home: Path) -> DataPaths:
    return DataPaths(bizra_home).ensure()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubServer]:
    with HubServer() as server:
        _point_huggingface_hub_at(monkeypatch, server.url, tmp_path)
        yield server


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Hub address where nothing listens: connection refused, as with no network."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _point_huggingface_hub_at(monkeypatch, f"http://127.0.0.1:{port}", tmp_path)
