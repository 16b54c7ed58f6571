"""The first-run guide, driven with qtbot: a recommendation from recorded hardware, the real
download from a local Hub on 127.0.0.1, offline with an import, "continue with the starter"
remembered, and the empty chat saying who answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from bizra_desktop.core.models.store import ModelStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.chat.pane import EMPTY_CHAT_HINT, STARTER_ONLY_HINT
from bizra_desktop.ui.first_run import FirstRunGuide
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.models.manager_window import ModelManagerWindow
from tests.helpers import recorded_machine, starter_path
from tests.hub_server import Blob, HubServer

WAIT_MS = 60_000


@pytest.fixture
def window(qtbot: QtBot, paths: DataPaths) -> Iterator[MainWindow]:
    instance = MainWindow(paths)
    qtbot.addWidget(instance)
    instance.show()
    yield instance
    instance.close()


def _open_guide(qtbot: QtBot, window: MainWindow, machine: str) -> FirstRunGuide:
    guide = window.open_first_run_guide(recorded_machine(machine))
    qtbot.waitUntil(lambda: guide.recommendation is not None, timeout=WAIT_MS)
    return guide


def _click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _state(guide: FirstRunGuide, tier: Tier) -> str:
    item = guide.table.item(tier, 4)
    return item.text() if item is not None else ""


def test_the_guide_recommends_from_the_recorded_machine(
    qtbot: QtBot, window: MainWindow, hub: HubServer
) -> None:
    guide = _open_guide(qtbot, window, "desktop-rtx3060")
    assert guide.ticked() == [Tier.NANO, Tier.MICRO, Tier.LARGE]
    machine = guide.machine_label.text()
    assert "34.4 GB RAM, 24.0 GB free now" in machine
    assert "NVIDIA GeForce RTX 3060 (11.8 of 12.9 GB free)" in machine
    assert "412.0 GB free for models" in machine
    assert "Recommended: NANO + MICRO + LARGE." in guide.reason.text()
    assert guide.offline.isHidden()  # the local Hub answered (it lists no Qwen repository)
    assert guide.download_button.text() == "Download NANO + MICRO + LARGE (10.6 GB)"
    # The user can change the set before downloading: the button follows the ticks.
    large = guide.table.item(Tier.LARGE, 0)
    assert large is not None
    large.setCheckState(Qt.CheckState.Unchecked)
    assert guide.download_button.text() == "Download NANO + MICRO (1.6 GB)"


def test_one_button_downloads_the_recommended_set_with_progress(
    qtbot: QtBot, window: MainWindow, hub: HubServer, paths: DataPaths
) -> None:
    nano = Tier.NANO.spec
    hub.add_repo(nano.repo_id, {nano.filename: Blob(starter_path())})
    guide = _open_guide(qtbot, window, "netbook-4gb")  # 2 GB free: NANO only
    assert guide.ticked() == [Tier.NANO]
    assert "98 MB" in guide.download_button.text()  # the Hub's size, not the estimate
    assert window.pane.chat.placeholder.text() == STARTER_ONLY_HINT
    seen: list[str] = []
    guide.table.itemChanged.connect(lambda item: seen.append(item.text()))
    _click(qtbot, guide.download_button)
    assert load_settings(paths.settings).first_run_done  # the choice is made: remembered
    qtbot.waitUntil(lambda: _state(guide, Tier.NANO) == "installed", timeout=WAIT_MS)
    assert any(text.startswith("downloading ") and "of 98 MB" in text for text in seen), seen
    assert "is installed; the next prompt can use it" in guide.message.text()
    assert Tier.NANO in ModelStore(paths.models).installed()
    assert window.pane.chat.placeholder.text() == EMPTY_CHAT_HINT  # a real tier answers now
    assert window.maybe_open_first_run_guide() is None


def test_offline_the_guide_says_so_and_imports_a_file(
    qtbot: QtBot, window: MainWindow, offline: None, paths: DataPaths
) -> None:
    guide = _open_guide(qtbot, window, "laptop-8gb")
    assert guide.offline.isVisible()
    assert "Offline" in guide.offline.text() and "import a GGUF file" in guide.offline.text()
    assert not guide.download_button.isEnabled()
    assert guide.download_button.text() == "Download (needs Hugging Face)"
    assert guide.ticked() == [Tier.NANO, Tier.MICRO, Tier.SMALL]  # from the estimates
    assert guide.import_tier.currentData() is Tier.NANO  # the first tier missing
    guide.import_file(starter_path(), Tier.MICRO)
    qtbot.waitUntil(lambda: _state(guide, Tier.MICRO) == "installed", timeout=WAIT_MS)
    assert "MICRO (1.5B): imported" in guide.message.text()
    assert Tier.MICRO in ModelStore(paths.models).installed()
    assert load_settings(paths.settings).first_run_done
    bad = paths.root / "broken.gguf"
    bad.write_bytes(b"not a model")
    guide.import_file(bad, Tier.NANO)
    qtbot.waitUntil(lambda: guide.message.property("error") is True, timeout=WAIT_MS)
    assert "broken.gguf" in guide.message.text()


def test_continue_with_the_starter_is_remembered(
    qtbot: QtBot, paths: DataPaths, offline: None
) -> None:
    first = MainWindow(paths)
    qtbot.addWidget(first)
    first.show()
    guide = first.maybe_open_first_run_guide()  # a first start, nothing installed
    assert guide is not None and guide.isVisible()
    starter = guide.findChild(QLabel, "guide-starter")
    assert starter is not None
    assert "135-million-parameter" in starter.text() and "says so on its badge" in starter.text()
    _click(qtbot, guide.starter_button)
    assert not guide.isVisible()
    assert load_settings(paths.settings).first_run_done
    # The empty chat still says who answers, and how to get more.
    assert first.pane.chat.placeholder.text() == STARTER_ONLY_HINT
    first.close()
    again = MainWindow(paths)
    qtbot.addWidget(again)
    again.show()
    assert again.maybe_open_first_run_guide() is None  # not by itself again
    opened = again.open_first_run_guide(recorded_machine("laptop-8gb"))  # but from Help
    assert opened.isVisible()
    again.close()
    assert not opened.isVisible()


def test_the_empty_chat_links_to_the_guide_and_the_models(
    qtbot: QtBot, window: MainWindow, offline: None
) -> None:
    assert "<a href='guide'>" in window.pane.chat.placeholder.text()
    window.pane.chat.placeholder.linkActivated.emit("guide")
    assert window.guide is not None and window.guide.isVisible()
    window.guide.close()
    window.pane.chat.placeholder.linkActivated.emit("models")
    managers = [child for child in window.children() if isinstance(child, ModelManagerWindow)]
    assert len(managers) == 1 and managers[0].isVisible()
    managers[0].import_file(starter_path(), Tier.NANO)
    qtbot.waitUntil(
        lambda: Tier.NANO in ModelStore(window.paths.models).installed(), timeout=WAIT_MS
    )
    managers[0].close()  # the empty chat no longer says the starter answers everything
    qtbot.waitUntil(lambda: window.pane.chat.placeholder.text() == EMPTY_CHAT_HINT, timeout=WAIT_MS)
