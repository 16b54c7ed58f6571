"""The real download code against a local Hub: install, pause and resume, faults, offline."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

import pytest

from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.models.errors import DownloadError, DownloadPaused, HubError
from bizra_desktop.core.models.hub import OFFLINE_NOTE, Hub
from bizra_desktop.core.models.manager import ModelManager
from bizra_desktop.core.models.progress import ModelState, Progress
from bizra_desktop.core.models.records import ModelSource
from bizra_desktop.core.models.store import ModelHashCache, ModelStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline, RunOptions
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path
from tests.hub_server import Blob, Fault, HubServer, minimal_gguf

NANO = Tier.NANO.spec
MEDIUM = Tier.MEDIUM.spec
MEDIUM_PART_2 = MEDIUM.filename.replace("-00001-of-", "-00002-of-")
MEMORY = MemoryBudget(ram_available=16_000_000_000, vram_free=None)
TEN_MIB = 10 * 1024 * 1024  # huggingface_hub writes in chunks of this size


def _publish_nano(hub: HubServer, blob: Blob | None = None) -> None:
    hub.add_repo(NANO.repo_id, {NANO.filename: blob or Blob(starter_path())})


def _files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def _state(manager: ModelManager, tier: Tier) -> ModelState:
    return manager.status(tier, MEMORY, 4096, fetch=False).state


def test_a_download_installs_the_tier_and_the_next_prompt_uses_it(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    _publish_nano(hub)
    pipeline = Pipeline(paths)
    try:
        _, before = pipeline.route("Hello!", RunOptions())
        assert before.tier is Tier.NANO and before.model.is_starter

        reports: list[Progress] = []
        model = manager.download(Tier.NANO, report=reports.append)

        _, after = pipeline.route("Hello!", RunOptions())
    finally:
        pipeline.close()
    assert manager.download(Tier.NANO) == model  # installed: nothing is fetched again
    assert after.tier is Tier.NANO and not after.model.is_starter
    assert after.model.path == paths.models / NANO.filename == model.path
    assert ModelStore(paths.models).installed()[Tier.NANO].path == model.path
    assert _state(manager, Tier.NANO) is ModelState.INSTALLED
    assert model.path.read_bytes() == starter_path().read_bytes()
    assert not (paths.models / f"{NANO.filename}.part").exists()

    downloading = [r for r in reports if r.state is ModelState.DOWNLOADING]
    verifying = [r for r in reports if r.state is ModelState.VERIFYING]
    assert downloading[-1].done == downloading[-1].total == model.size_bytes
    assert all(r.speed >= 0 for r in reports) and downloading[-1].eta_s == 0
    assert verifying[-1].done == model.size_bytes
    assert [r.method for r in hub.requests if "/resolve/" in r.path] == ["HEAD", "GET"]


def test_pause_at_half_keeps_the_partial_file_and_resume_fetches_only_the_rest(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    _publish_nano(hub)
    total = starter_path().stat().st_size
    cancel = threading.Event()

    def pause_at_half(progress: Progress) -> None:
        if progress.fraction >= 0.5:
            cancel.set()

    with pytest.raises(DownloadPaused, match=r"paused at .*the partial file is kept"):
        manager.download(Tier.NANO, report=pause_at_half, cancel=cancel)
    part = paths.models / f"{NANO.filename}.part"
    kept = part.stat().st_size
    assert total * 0.5 <= kept < total
    assert _files(paths.models) == [part.name, "registry.json"]
    assert _state(manager, Tier.NANO) is ModelState.PAUSED
    assert Tier.NANO not in ModelStore(paths.models).installed()

    manager.download(Tier.NANO)
    first, second = hub.downloads(NANO.filename)
    assert first.range_start is None and first.status == 200
    assert second.range_start == kept and second.status == 206
    assert second.sent == total - kept
    assert (paths.models / NANO.filename).read_bytes() == starter_path().read_bytes()
    assert _state(manager, Tier.NANO) is ModelState.INSTALLED


def test_a_server_error_mid_stream_fails_cleanly_and_the_partial_file_resumes(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    _publish_nano(hub)
    total = starter_path().stat().st_size
    hub.fail_next(Fault(cut_after=4 * TEN_MIB), Fault(status=500))
    with pytest.raises(DownloadError) as failure:
        manager.download(Tier.NANO)
    cut, retry = hub.downloads(NANO.filename)
    assert cut.sent == 4 * TEN_MIB
    # huggingface_hub kept the whole chunks it had and asked for the rest: the server failed.
    assert (retry.range_start, retry.status) == (4 * TEN_MIB, 500)
    message = str(failure.value)
    assert "\n" not in message
    assert "answered 500" in message and "the partial file is kept" in message
    part = paths.models / f"{NANO.filename}.part"
    assert part.stat().st_size == 4 * TEN_MIB
    assert not (paths.models / NANO.filename).exists()
    status = manager.status(Tier.NANO, MEMORY, 4096, fetch=False)
    assert status.state is ModelState.FAILED and status.detail == message

    manager.download(Tier.NANO)
    last = hub.downloads(NANO.filename)[-1]
    assert (last.range_start, last.sent) == (4 * TEN_MIB, total - 4 * TEN_MIB)
    assert _state(manager, Tier.NANO) is ModelState.INSTALLED


def test_same_size_corruption_is_rejected_by_sha256(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    size = starter_path().stat().st_size
    _publish_nano(hub, Blob(starter_path(), flip_at=size // 2))
    with pytest.raises(DownloadError, match="do not match the Hub's SHA-256"):
        manager.download(Tier.NANO)
    assert hub.downloads(NANO.filename)[0].sent == size  # every byte came, one of them wrong
    assert _files(paths.models) == ["registry.json"]  # nothing under the final name, no .part
    assert Tier.NANO not in ModelStore(paths.models).installed()
    assert _state(manager, Tier.NANO) is ModelState.FAILED


def test_a_download_the_disk_cannot_hold_is_refused_before_any_byte(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    _publish_nano(hub, Blob(starter_path(), listed_size=10**15))  # a petabyte
    with pytest.raises(DownloadError, match=r"not enough disk space .* it needs 1000000\.0 GB"):
        manager.download(Tier.NANO)
    assert not [r for r in hub.requests if "/resolve/" in r.path]
    assert not _files(paths.models) or _files(paths.models) == ["registry.json"]


@pytest.mark.parametrize(
    "hostile", ["../evil.gguf", "/abs.gguf", "C:\\x.gguf", "\\\\server\\share\\x.gguf"]
)
def test_hostile_file_names_from_the_hub_are_refused(
    hub: HubServer, paths: DataPaths, manager: ModelManager, tmp_path: Path, hostile: str
) -> None:
    hub.add_repo("attacker/models-GGUF", {hostile: Blob(minimal_gguf())})
    stem = hostile.removesuffix(".gguf")
    with pytest.raises(HubError, match="refusing the file name"):
        manager.download(Tier.NANO, ModelSource("attacker/models-GGUF", stem))
    assert not [r for r in hub.requests if "/resolve/" in r.path]
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == []


def test_a_split_model_is_installed_only_when_every_part_is_there(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    hub.add_repo(
        MEDIUM.repo_id,
        {MEDIUM.filename: Blob(starter_path()), MEDIUM_PART_2: Blob(minimal_gguf())},
    )
    hub.fail_next(Fault(), Fault(status=503))  # part 1 arrives, part 2 fails
    with pytest.raises(DownloadError, match="answered 503"):
        manager.download(Tier.MEDIUM)
    assert (paths.models / MEDIUM.filename).is_file()  # verified and in place
    assert Tier.MEDIUM not in ModelStore(paths.models).installed()
    assert _state(manager, Tier.MEDIUM) is ModelState.FAILED

    model = manager.download(Tier.MEDIUM)
    assert [p.name for p in model.parts] == [MEDIUM.filename, MEDIUM_PART_2]
    assert ModelStore(paths.models).installed()[Tier.MEDIUM].path == model.path
    # The finished first part was checked again, not fetched again.
    assert len(hub.downloads(MEDIUM.filename)) == 1
    assert [r.status for r in hub.downloads(MEDIUM_PART_2)] == [503, 200]


def test_offline_the_hub_calls_fail_in_one_plain_line(paths: DataPaths) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    manager = ModelManager(paths, Hub(closed, token=False))
    with pytest.raises(HubError) as failure:
        manager.download(Tier.NANO)
    message = str(failure.value)
    assert message.startswith("cannot reach Hugging Face: ") and message.endswith(OFFLINE_NOTE)
    assert "\n" not in message

    overview = manager.overview(MEMORY, 4096)
    assert overview.hub_error == message
    assert all(s.size_is_estimate and s.state is ModelState.NOT_INSTALLED for s in overview.tiers)


def test_a_download_hands_the_receipts_its_verified_hash(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    """The first prompt after a download must not read a 9 GB file again to name the model:
    the hash the download verified (a split model's over all its parts, in order, even when
    they arrived in different sessions) is what the receipt's hash cache already knows."""
    part_2 = minimal_gguf()
    hub.add_repo(
        MEDIUM.repo_id, {MEDIUM.filename: Blob(starter_path()), MEDIUM_PART_2: Blob(part_2)}
    )
    hub.fail_next(Fault(), Fault(status=503))  # part 1 in this session, part 2 in the next
    with pytest.raises(DownloadError):
        manager.download(Tier.MEDIUM)
    model = manager.download(Tier.MEDIUM)

    whole = hashlib.sha256(starter_path().read_bytes() + part_2).hexdigest()
    hashes = ModelHashCache.of_folder(paths.models)
    assert hashes.known(model) == whole
    pipeline = Pipeline(paths)
    try:
        assert pipeline.hashes.known(model) == whole
    finally:
        pipeline.close()


def test_a_part_that_fails_its_check_does_not_count_toward_the_models_hash(
    hub: HubServer, paths: DataPaths, manager: ModelManager
) -> None:
    _publish_nano(hub)
    target = paths.models / NANO.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(starter_path().stat().st_size))  # right size, wrong bytes
    model = manager.download(Tier.NANO)
    digest = hashlib.sha256(starter_path().read_bytes()).hexdigest()
    assert ModelHashCache.of_folder(paths.models).known(model) == digest
