"""The model manager window against a local Hub on 127.0.0.1: the real download, import,
verify and delete code, driven through the window's buttons."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.models.hub import Hub
from bizra_desktop.core.models.manager import ModelManager
from bizra_desktop.core.models.progress import ModelState, Progress
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Finished, Pipeline, RunOptions
from bizra_desktop.core.remote import RemoteEndpoint, load_remote_tiers
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.models.hub_panel import RemoteModelList
from bizra_desktop.ui.models.local_worker import Snapshot
from bizra_desktop.ui.models.manager_window import ModelManagerWindow
from bizra_desktop.ui.models.remote_dialog import RemoteTierDialog
from bizra_desktop.ui.models.tier_model import BUSY, Column, ProgressRole, TierTableModel
from tests.helpers import starter_path
from tests.hub_server import Blob, Fault, HubServer

NANO = Tier.NANO.spec
TEN_MIB = 10 * 1024 * 1024  # huggingface_hub reads and writes in chunks of this size
WAIT_MS = 60_000
Opener = Callable[[], ModelManagerWindow]


@pytest.fixture
def pipeline(paths: DataPaths) -> Iterator[Pipeline]:
    instance = Pipeline(paths)
    yield instance
    instance.close()


@pytest.fixture
def open_window(qtbot: QtBot, paths: DataPaths, pipeline: Pipeline) -> Iterator[Opener]:
    opened: list[ModelManagerWindow] = []

    def open_() -> ModelManagerWindow:
        window = ModelManagerWindow(paths, pipeline, None)
        qtbot.addWidget(window)
        window.show()
        opened.append(window)
        # The first refresh reads the disk only; the second also asks the Hub.
        qtbot.waitUntil(lambda: _state(window, Tier.LARGE) != "checking…", timeout=WAIT_MS)
        return window

    yield open_
    for window in opened:
        window.close()
        assert window.threads.finished(), "a worker thread of the window still runs"


def _cell(window: ModelManagerWindow, tier: Tier, column: Column, role: int = 0) -> Any:
    return window.tiers.index(tier, column).data(role or Qt.ItemDataRole.DisplayRole)


def _state(window: ModelManagerWindow, tier: Tier) -> str:
    return str(_cell(window, tier, Column.STATE))


def _until(
    qtbot: QtBot, window: ModelManagerWindow, tier: Tier, what: str, done: Callable[[], bool]
) -> None:
    """qtbot.waitUntil, failing with what the window shows (a bare timeout says nothing)."""
    try:
        qtbot.waitUntil(done, timeout=WAIT_MS)
    except qtbot.TimeoutError:
        job = window.threads.jobs.get(tier)
        pytest.fail(
            f"waited {WAIT_MS} ms for {what}; {tier.name} shows {_state(window, tier)!r}, "
            f"bar {_cell(window, tier, Column.PROGRESS, ProgressRole)!r} "
            f"{_cell(window, tier, Column.PROGRESS)!r}, message {window.message.text()!r}, "
            f"download job {'running' if job else 'none'}"
        )


def _wait_state(qtbot: QtBot, window: ModelManagerWindow, tier: Tier, state: str) -> None:
    _until(qtbot, window, tier, f"state {state!r}", lambda: _state(window, tier) == state)


def _wait_fill(qtbot: QtBot, window: ModelManagerWindow, tier: Tier, fill: float) -> None:
    """Until the tier's progress bar shows at least `fill`."""
    _until(
        qtbot,
        window,
        tier,
        f"a bar at {fill:.3f} or more",
        lambda: (_cell(window, tier, Column.PROGRESS, ProgressRole) or 0) >= fill,
    )


def _wait_message(qtbot: QtBot, window: ModelManagerWindow, tier: Tier, text: str) -> None:
    _until(qtbot, window, tier, f"a message with {text!r}", lambda: text in window.message.text())


def _click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _publish_nano(hub: HubServer, blob: Blob | None = None) -> None:
    hub.add_repo(NANO.repo_id, {NANO.filename: blob or Blob(starter_path())})


# --- the table model ------------------------------------------------------------------------


def test_the_tier_model_passes_the_model_tester(
    qtmodeltester: ModelTester, paths: DataPaths
) -> None:
    manager = ModelManager(paths, Hub("http://127.0.0.1:9", token=False))
    manager.import_file(starter_path(), Tier.MICRO)
    overview = manager.overview(MemoryBudget(16_000_000_000, None), 4096, fetch=False)
    model = TierTableModel()
    qtmodeltester.check(model)  # before the first overview arrives
    remote = RemoteEndpoint(tier=Tier.LARGE, base_url="http://gpu-box:8080/v1", model="qwen2.5-14b")
    model.set_statuses(overview.tiers, {Tier.LARGE: remote})
    downloading = Progress(
        state=ModelState.DOWNLOADING, file=NANO.filename, done=5, total=10, speed=2e6
    )
    model.set_progress(Tier.NANO, downloading)
    model.set_activity(Tier.SMALL, "verifying…")
    qtmodeltester.check(model)

    assert model.index(Tier.NANO, Column.PROGRESS).data(ProgressRole) == 0.5
    assert (
        model.index(Tier.NANO, Column.PROGRESS).data() == "50% · 0 kB of 0 kB · 2 MB/s · 1 s left"
    )
    assert model.index(Tier.SMALL, Column.PROGRESS).data(ProgressRole) == BUSY
    assert model.index(Tier.SMALL, Column.STATE).data() == "verifying…"
    assert model.index(Tier.MICRO, Column.RUNS_ON).data() == "this computer"
    assert model.index(Tier.LARGE, Column.RUNS_ON).data() == "qwen2.5-14b @ gpu-box:8080"
    assert str(model.index(Tier.MEDIUM, Column.SIZE).data()).startswith("~")


def test_the_hub_model_list_passes_the_model_tester(
    qtmodeltester: ModelTester, hub: HubServer, paths: DataPaths
) -> None:
    hub.add_repo("someone/Tiny-GGUF", {"tiny-q8_0.gguf": Blob(starter_path())})
    listing = ModelManager(paths, Hub(hub.url, token=False))
    found = listing.models_in("someone/Tiny-GGUF")
    model = RemoteModelList()
    model.set_models(found)
    qtmodeltester.check(model)
    assert model.index(0).data() == "tiny-q8_0 · 98 MB"


# --- downloads ------------------------------------------------------------------------------


def test_a_download_shows_its_progress_and_the_next_prompt_uses_the_tier(
    qtbot: QtBot, hub: HubServer, open_window: Opener, pipeline: Pipeline, paths: DataPaths
) -> None:
    _publish_nano(hub)
    window = open_window()
    # The first refresh reads the disk (a catalogue estimate), the second asks the Hub.
    qtbot.waitUntil(lambda: _cell(window, Tier.NANO, Column.SIZE) == "98 MB", timeout=WAIT_MS)
    _, before = pipeline.route("Hello!", RunOptions())
    assert before.model.is_starter

    shown: list[tuple[float, str]] = []

    def record(*_: object) -> None:
        fill = _cell(window, Tier.NANO, Column.PROGRESS, ProgressRole)
        if isinstance(fill, float) and fill != BUSY:
            shown.append((fill, str(_cell(window, Tier.NANO, Column.PROGRESS))))

    window.tiers.dataChanged.connect(record)
    window.select_tier(Tier.NANO)
    _click(qtbot, window.download_button)
    assert window.pause_button.isEnabled() and not window.download_button.isEnabled()
    _wait_state(qtbot, window, Tier.NANO, "installed")

    downloading = [(f, text) for f, text in shown if "of 98 MB" in text]
    hashing = [(f, text) for f, text in shown if text.startswith("checking SHA-256")]
    assert downloading and hashing
    assert downloading[-1][0] == 1.0 and downloading[-1][1].startswith("100% · 98 MB of 98 MB")
    assert any("MB/s" in text for _, text in downloading)
    assert [f for f, _ in downloading] == sorted(f for f, _ in downloading)
    assert "installed; the next prompt can use it" in window.message.text()

    # No restart: the pipeline the chat uses picks the new tier for its next prompt.
    _, after = pipeline.route("Hello!", RunOptions())
    assert after.tier is Tier.NANO and not after.model.is_starter
    assert after.model.path == paths.models / NANO.filename
    # "installed" shows as the download ends; the file's row comes with the refresh after it.
    qtbot.waitUntil(
        lambda: _cell(window, Tier.NANO, Column.RUNS_ON) == "this computer", timeout=WAIT_MS
    )


def test_pause_keeps_the_partial_file_and_resume_fetches_only_the_rest(
    qtbot: QtBot, hub: HubServer, open_window: Opener, paths: DataPaths
) -> None:
    _publish_nano(hub)
    hub.fail_next(Fault(hold_after=3 * TEN_MIB))  # the body stalls after 30 MiB
    window = open_window()
    window.select_tier(Tier.NANO)
    _click(qtbot, window.download_button)
    _wait_fill(qtbot, window, Tier.NANO, 3 * TEN_MIB / starter_path().stat().st_size)
    _click(qtbot, window.pause_button)
    assert _state(window, Tier.NANO) == "pausing…"
    hub.release()  # the next chunk arrives, and the core stops before writing it
    _wait_state(qtbot, window, Tier.NANO, "paused")
    part = paths.models / f"{NANO.filename}.part"
    kept = part.stat().st_size
    assert kept == 3 * TEN_MIB
    assert "paused at" in window.message.text()
    assert window.resume_button.isEnabled() and not window.pause_button.isEnabled()

    _click(qtbot, window.resume_button)
    _wait_state(qtbot, window, Tier.NANO, "installed")
    _first, second = hub.downloads(NANO.filename)
    assert (second.range_start, second.sent) == (kept, starter_path().stat().st_size - kept)
    assert (paths.models / NANO.filename).read_bytes() == starter_path().read_bytes()


def test_cancel_throws_the_partial_download_away(
    qtbot: QtBot, hub: HubServer, open_window: Opener, paths: DataPaths
) -> None:
    _publish_nano(hub)
    hub.fail_next(Fault(hold_after=TEN_MIB))
    window = open_window()
    window.select_tier(Tier.NANO)
    _click(qtbot, window.download_button)
    _wait_fill(qtbot, window, Tier.NANO, TEN_MIB / starter_path().stat().st_size)
    _click(qtbot, window.cancel_button)
    hub.release()
    _wait_message(qtbot, window, Tier.NANO, "removed")
    _wait_state(qtbot, window, Tier.NANO, "not installed")
    assert sorted(p.name for p in paths.models.iterdir()) == ["registry.json"]


def test_a_refresh_taken_before_the_last_report_does_not_roll_the_bar_back(
    qtbot: QtBot, hub: HubServer, open_window: Opener
) -> None:
    """A refresh reads the disk on its own thread: its snapshot can be taken before the
    download's latest report and arrive after it. With the network stalled no newer report
    comes, so the bar must keep what the download said, not the snapshot's older state."""
    _publish_nano(hub)
    hub.fail_next(Fault(hold_after=TEN_MIB))
    window = open_window()
    snapshots: list[Snapshot] = []
    window.threads.local.refreshed.connect(snapshots.append)
    window.refresh()
    qtbot.waitUntil(lambda: bool(snapshots), timeout=WAIT_MS)
    window.select_tier(Tier.NANO)
    _click(qtbot, window.download_button)
    fill = TEN_MIB / starter_path().stat().st_size
    _wait_fill(qtbot, window, Tier.NANO, fill)
    assert snapshots[0].overview.tiers[Tier.NANO].state is ModelState.NOT_INSTALLED

    with qtbot.waitSignal(window.tiers.dataChanged, timeout=WAIT_MS):
        window.threads.local.refreshed.emit(snapshots[0])  # as if delivered late
    assert _cell(window, Tier.NANO, Column.PROGRESS, ProgressRole) == pytest.approx(fill)
    assert _state(window, Tier.NANO) == "downloading"

    _click(qtbot, window.cancel_button)
    hub.release()
    _wait_message(qtbot, window, Tier.NANO, "removed")
    _wait_state(qtbot, window, Tier.NANO, "not installed")
    assert _cell(window, Tier.NANO, Column.PROGRESS, ProgressRole) is None


def test_a_corrupt_download_fails_with_its_reason_shown(
    qtbot: QtBot, hub: HubServer, open_window: Opener, paths: DataPaths
) -> None:
    size = starter_path().stat().st_size
    _publish_nano(hub, Blob(starter_path(), flip_at=size // 2))  # same size, other SHA-256
    window = open_window()
    window.select_tier(Tier.NANO)
    _click(qtbot, window.download_button)
    _wait_state(qtbot, window, Tier.NANO, "failed")
    reason = window.message.text()
    assert "do not match the Hub's SHA-256" in reason and "\n" not in reason
    assert window.message.property("error") is True
    assert window.failure.text() == reason  # the tier's own line says why, too
    assert _cell(window, Tier.NANO, Column.STATE, Qt.ItemDataRole.ToolTipRole) == reason
    assert not (paths.models / NANO.filename).exists()
    assert window.download_button.isEnabled()  # try again


# --- imports, verify, delete ----------------------------------------------------------------


@pytest.mark.usefixtures("offline")
def test_import_of_a_good_and_of_a_bad_file(
    qtbot: QtBot, open_window: Opener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window()
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 60)
    window.select_tier(Tier.SMALL)
    chosen = iter([str(bad), str(starter_path())])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_: (next(chosen), ""))

    _click(qtbot, window.import_button)
    qtbot.waitUntil(lambda: window.message.property("error") is True, timeout=WAIT_MS)
    reason = window.message.text()
    assert "broken.gguf" in reason and "\n" not in reason
    assert _state(window, Tier.SMALL) == "not installed"

    _click(qtbot, window.import_button)
    _wait_state(qtbot, window, Tier.SMALL, "installed")
    assert "imported SmolLM2-135M-Instruct.Q4_1.gguf" in window.message.text()
    _, decision = window.pipeline.route("Hello!", RunOptions(pin=Tier.SMALL))
    assert decision.tier is Tier.SMALL and not decision.model.is_starter

    _click(qtbot, window.verify_button)
    _wait_message(qtbot, window, Tier.SMALL, "matches")
    assert "recorded at install" in window.message.text()


@pytest.mark.model
@pytest.mark.usefixtures("offline")
def test_deleting_the_loaded_model_unloads_it_first(
    qtbot: QtBot, open_window: Opener, paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window()
    pipeline = window.pipeline
    window.select_tier(Tier.NANO)
    window.import_file(starter_path(), Tier.NANO)
    _wait_state(qtbot, window, Tier.NANO, "installed")
    model_file = paths.models / starter_path().name
    options = RunOptions(pin=Tier.NANO, params=SamplingParams(max_tokens=4, temperature=0.0))
    events = list(pipeline.run("Hello!", options))
    assert isinstance(events[-1], Finished) and events[-1].decision.tier is Tier.NANO
    assert pipeline.host.pid is not None  # the model is loaded in the inference host

    file_there_at_unload: list[bool] = []
    close = pipeline.host.close

    def spy_close() -> None:
        file_there_at_unload.append(model_file.exists())
        close()

    monkeypatch.setattr(pipeline.host, "close", spy_close)
    monkeypatch.setattr(QMessageBox, "question", lambda *_: QMessageBox.StandardButton.Yes)
    _click(qtbot, window.delete_button)
    _wait_state(qtbot, window, Tier.NANO, "not installed")
    assert file_there_at_unload == [True]  # unloaded while the file was still there
    assert pipeline.host.pid is None and not model_file.exists()
    assert "removed SmolLM2-135M-Instruct.Q4_1.gguf" in window.message.text()
    _, decision = pipeline.route("Hello!", RunOptions())
    assert decision.model.is_starter  # the chat goes on with the starter


# --- offline, remote tiers, search ------------------------------------------------------------


@pytest.mark.usefixtures("offline")
def test_offline_the_window_says_so_and_works_with_what_is_installed(
    qtbot: QtBot, open_window: Opener, paths: DataPaths, pipeline: Pipeline
) -> None:
    ModelManager(paths).import_file(starter_path(), Tier.MICRO)
    window = open_window()
    qtbot.waitUntil(window.offline.isVisible, timeout=WAIT_MS)
    banner = window.offline.text()
    assert "Offline" in banner and "cannot reach Hugging Face" in banner
    assert "keeps working with the installed models" in banner
    assert _state(window, Tier.MICRO) == "installed"
    assert str(_cell(window, Tier.LARGE, Column.SIZE)).startswith("~")
    assert _cell(window, Tier.LARGE, Column.FIT) in ("fits", "tight", "won't fit")

    window.select_tier(Tier.NANO)
    _click(qtbot, window.download_button)
    qtbot.waitUntil(lambda: "cannot reach Hugging Face" in window.message.text(), timeout=WAIT_MS)
    _wait_state(qtbot, window, Tier.NANO, "not installed")
    _click(qtbot, window.hub_panel.quantizations_button)
    qtbot.waitUntil(
        lambda: "cannot reach Hugging Face" in window.hub_panel.note.text(), timeout=WAIT_MS
    )
    _, decision = pipeline.route("Explain how a hash map works.", RunOptions())
    assert decision.tier is Tier.MICRO  # the installed tier keeps answering


@pytest.mark.usefixtures("offline")
def test_a_remote_tier_is_saved_and_the_selector_routes_it_there(
    qtbot: QtBot, open_window: Opener, paths: DataPaths, pipeline: Pipeline
) -> None:
    window = open_window()
    window.select_tier(Tier.SMALL)
    _click(qtbot, window.remote_button)
    dialog = window.findChild(RemoteTierDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.base_url.setText("ftp://gpu-box/v1")
    dialog.model.setText("qwen2.5-14b-instruct")
    _click(qtbot, dialog.save_button)
    assert dialog.isVisible() and "not an http(s) URL" in dialog.error.text()

    dialog.base_url.setText("http://gpu-box:8080/v1")
    dialog.api_key.setText("secret")
    _click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    saved = load_remote_tiers(paths.remote_tiers)[Tier.SMALL]
    assert (saved.base_url, saved.model, saved.api_key) == (
        "http://gpu-box:8080/v1",
        "qwen2.5-14b-instruct",
        "secret",
    )
    _, decision = pipeline.route("Hello!", RunOptions(pin=Tier.SMALL))
    assert isinstance(decision.model, RemoteEndpoint) and decision.tier is Tier.SMALL
    qtbot.waitUntil(
        lambda: _cell(window, Tier.SMALL, Column.RUNS_ON) == "qwen2.5-14b-instruct @ gpu-box:8080",
        timeout=WAIT_MS,
    )

    _click(qtbot, window.remote_button)
    again = next(d for d in window.findChildren(RemoteTierDialog) if d.isVisible())
    assert again.base_url.text() == "http://gpu-box:8080/v1"
    _click(qtbot, again.remove_button)  # the tier runs on this computer again
    assert Tier.SMALL not in load_remote_tiers(paths.remote_tiers)
    _, local = pipeline.route("Hello!", RunOptions(pin=Tier.SMALL))
    assert not isinstance(local.model, RemoteEndpoint)


def test_a_model_found_on_the_hub_is_downloaded_for_the_selected_tier(
    qtbot: QtBot, hub: HubServer, open_window: Opener, pipeline: Pipeline
) -> None:
    hub.add_repo("someone/Tiny-Chat-GGUF", {"tiny-chat-q8_0.gguf": Blob(starter_path())})
    hub.add_repo("someone/Unrelated", {})
    micro = Tier.MICRO.spec
    q8 = micro.filename.replace("q4_k_m", "q8_0")
    hub.add_repo(micro.repo_id, {micro.filename: Blob(starter_path()), q8: Blob(starter_path())})
    window = open_window()
    window.select_tier(Tier.MICRO)
    panel = window.hub_panel
    _click(qtbot, panel.quantizations_button)
    qtbot.waitUntil(lambda: panel.models.rowCount() == 2, timeout=WAIT_MS)
    assert [panel.models.index(row).data() for row in range(2)] == [
        "qwen2.5-1.5b-instruct-q4_k_m · 98 MB",
        "qwen2.5-1.5b-instruct-q8_0 · 98 MB",
    ]
    panel.query.setText("tiny")
    _click(qtbot, panel.search_button)
    qtbot.waitUntil(lambda: panel.repos.stringList() == ["someone/Tiny-Chat-GGUF"])
    assert panel.models.rowCount() == 0  # a new search clears the last listing
    panel.repo_view.setCurrentIndex(panel.repos.index(0))
    qtbot.waitUntil(lambda: panel.models.rowCount() == 1, timeout=WAIT_MS)
    panel.model_view.setCurrentIndex(panel.models.index(0))
    assert panel.assign_button.text() == "Download for MICRO"
    _click(qtbot, panel.assign_button)
    _wait_state(qtbot, window, Tier.MICRO, "installed")
    qtbot.waitUntil(  # the refresh after the download names the file
        lambda: _cell(window, Tier.MICRO, Column.MODEL) == "tiny-chat-q8_0", timeout=WAIT_MS
    )
    _, decision = pipeline.route("Hello!", RunOptions(pin=Tier.MICRO))
    assert decision.model.path.name == "tiny-chat-q8_0.gguf"


# --- the window's life ----------------------------------------------------------------------


@pytest.mark.usefixtures("offline")
def test_the_main_window_opens_the_manager_as_a_window_of_its_own(
    qtbot: QtBot, paths: DataPaths
) -> None:
    main = MainWindow(paths)
    qtbot.addWidget(main)
    main.menu_actions.manage_models_action.trigger()
    manager = main.findChild(ModelManagerWindow)
    assert manager is not None and manager.isVisible() and manager.isWindow()
    assert manager.pipeline is main.pipeline  # deletes unload the chat's own inference host
    qtbot.waitUntil(manager.offline.isVisible, timeout=WAIT_MS)
    manager.close()
    qtbot.waitUntil(lambda: main.findChild(ModelManagerWindow) is None)  # WA_DeleteOnClose
    main.close()


def test_closing_the_window_pauses_a_download_that_finishes_after_it(
    qtbot: QtBot, hub: HubServer, open_window: Opener, paths: DataPaths
) -> None:
    _publish_nano(hub)
    hub.fail_next(Fault(hold_after=2 * TEN_MIB))  # the server stalls: Pause cannot act at once
    window = open_window()
    window.select_tier(Tier.NANO)
    _click(qtbot, window.download_button)
    _wait_fill(qtbot, window, Tier.NANO, 2 * TEN_MIB / starter_path().stat().st_size)
    job = window.threads.jobs[Tier.NANO]
    assert job.thread is not None
    window.close()  # waits a moment, then leaves the paused download to finish on its own
    assert not window.isVisible() and job.thread.isRunning()
    with qtbot.waitSignal(job.thread.finished, timeout=WAIT_MS):
        hub.release()
    manager = ModelManager(paths, Hub(hub.url, token=False))
    status = manager.status(Tier.NANO, MemoryBudget(16_000_000_000, None), 4096, fetch=False)
    assert status.state is ModelState.PAUSED
    assert (paths.models / f"{NANO.filename}.part").stat().st_size == 2 * TEN_MIB
