"""The model manager without faults: quantizations, imports, verify, delete, fit, registry."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from pathlib import Path

import pytest

from bizra_desktop.core import placement
from bizra_desktop.core.engine.host import InferenceHost
from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.models import fit
from bizra_desktop.core.models.errors import DownloadPaused
from bizra_desktop.core.models.importer import ImportConflictError
from bizra_desktop.core.models.manager import ModelManager
from bizra_desktop.core.models.progress import ModelState
from bizra_desktop.core.models.records import FileRecord, ModelRecord
from bizra_desktop.core.models.registry import Registry, TierEntry
from bizra_desktop.core.models.store import ModelFileError, ModelHashCache, ModelStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path
from tests.hub_server import Blob, HubServer

NANO = Tier.NANO.spec
NANO_Q8 = "qwen2.5-0.5b-instruct-q8_0.gguf"
MEMORY = MemoryBudget(ram_available=16_000_000_000, vram_free=None)


def _place_by_hand(paths: DataPaths, name: str) -> Path:
    """The starter model under `name` in the model folder, as a user might copy a file there.
    A hard link: fast, and nothing here writes to it (a write would change the original)."""
    paths.models.mkdir(parents=True, exist_ok=True)
    target = paths.models / name
    os.link(starter_path(), target)
    return target


@pytest.fixture
def both_quants(hub: HubServer) -> None:
    hub.add_repo(
        NANO.repo_id,
        {
            NANO.filename: Blob(starter_path()),
            NANO_Q8: Blob(starter_path()),
            "README.md": Blob(b"# Qwen2.5-0.5B-Instruct-GGUF\n"),
        },
    )


@pytest.mark.usefixtures("both_quants")
def test_another_quantization_replaces_the_tier_model(
    manager: ModelManager, paths: DataPaths
) -> None:
    assert [m.quant for m in manager.quantizations(Tier.NANO)] == ["q4_k_m", "q8_0"]
    _place_by_hand(paths, NANO.filename)  # the catalogue Q4_K_M, put there by the user
    model = manager.download(Tier.NANO, manager.source(Tier.NANO, "Q8_0"))
    assert model.path.name == NANO_Q8
    assert ModelStore(paths.models).installed()[Tier.NANO].path.name == NANO_Q8
    assert not (paths.models / NANO.filename).exists()  # the replaced file is gone
    status = manager.status(Tier.NANO, MEMORY, 4096, fetch=False)
    assert (status.state, status.name) == (ModelState.INSTALLED, "qwen2.5-0.5b-instruct-q8_0")


def test_an_unknown_quantization_names_what_the_repository_has(
    manager: ModelManager, hub: HubServer
) -> None:
    hub.add_repo(NANO.repo_id, {NANO.filename: Blob(starter_path())})
    with pytest.raises(ValueError, match=r"no model .*q9_k.*it has: qwen2.5-0.5b-instruct-q4_k_m"):
        manager.download(Tier.NANO, manager.source(Tier.NANO, "q9_k"))


def test_search_finds_gguf_repositories(manager: ModelManager, hub: HubServer) -> None:
    hub.add_repo("Qwen/Qwen2.5-0.5B-Instruct-GGUF", {})
    hub.add_repo("someone/Other-GGUF", {})
    assert manager.search("qwen2.5") == ["Qwen/Qwen2.5-0.5B-Instruct-GGUF"]


def test_an_import_is_checked_placed_and_used_at_once(
    manager: ModelManager, paths: DataPaths
) -> None:
    model = manager.import_file(starter_path(), Tier.SMALL)
    assert model.path == paths.models / starter_path().name
    assert model.path.read_bytes() == starter_path().read_bytes()
    assert ModelStore(paths.models).installed()[Tier.SMALL].path == model.path
    # The hash the import computed is the one the first prompt's receipt will use.
    digest = hashlib.sha256(starter_path().read_bytes()).hexdigest()
    assert ModelHashCache.of_folder(paths.models).known(model) == digest
    [result] = manager.verify()
    assert result.ok and "recorded at install" in result.message
    # The same file for a second tier is shared, and deleting one tier keeps it for the other.
    manager.import_file(starter_path(), Tier.MICRO)
    manager.delete(Tier.SMALL)
    assert model.path.is_file() and Tier.MICRO in ModelStore(paths.models).installed()


def _gguf_with_a_tensor_past_the_end() -> bytes:
    name = b"blk.0.weight"
    tensor = struct.pack("<Q", len(name)) + name + struct.pack("<IQIQ", 1, 1_000_000, 0, 0)
    return b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + tensor


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"PK\x03\x04 a zip file" * 10, "not a GGUF file"),
        (b"GGUF" + struct.pack("<IQQ", 1, 0, 0), "unsupported GGUF version 1"),
        (b"GGUF" + struct.pack("<I", 3), "truncated while reading tensor count"),
        (_gguf_with_a_tensor_past_the_end(), "truncated: tensor data should reach"),
    ],
)
def test_a_bad_import_gets_one_line_and_is_not_copied(
    manager: ModelManager, paths: DataPaths, tmp_path: Path, content: bytes, reason: str
) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(ModelFileError, match=reason) as failure:
        manager.import_file(bad, Tier.NANO)
    assert "\n" not in str(failure.value)
    assert not (paths.models / "bad.gguf").exists()
    assert Tier.NANO not in ModelStore(paths.models).installed()


def test_an_import_never_overwrites_another_file(
    manager: ModelManager, paths: DataPaths, tmp_path: Path
) -> None:
    paths.models.mkdir(parents=True)
    (paths.models / starter_path().name).write_bytes(b"someone else's file")
    with pytest.raises(ImportConflictError, match="already in"):
        manager.import_file(starter_path(), Tier.NANO)
    assert (paths.models / starter_path().name).read_bytes() == b"someone else's file"


def test_verify_finds_a_file_changed_after_install(
    manager: ModelManager, paths: DataPaths, tmp_path: Path
) -> None:
    model = manager.import_file(starter_path(), Tier.NANO)
    changed = bytearray(model.path.read_bytes())
    changed[1_000_000] ^= 1
    (tmp_path / "changed").write_bytes(changed)
    os.replace(tmp_path / "changed", model.path)  # replaced, never written through the link
    [result] = manager.verify()
    assert not result.ok and "does not match the SHA-256 recorded at install" in result.message


@pytest.mark.usefixtures("both_quants")
def test_a_file_put_in_the_folder_by_hand_is_verified_against_the_hub(
    manager: ModelManager, paths: DataPaths
) -> None:
    _place_by_hand(paths, NANO.filename)
    [result] = manager.verify()
    assert result.ok and "the Hub's SHA-256" in result.message


class _RecordingHost(InferenceHost):
    """A real host that notes whether the model file still existed when it was closed."""

    def __init__(self, model: Path) -> None:
        super().__init__()
        self.model = model
        self.file_existed_at_close: bool | None = None

    def close(self) -> None:
        self.file_existed_at_close = self.model.exists()
        super().close()


@pytest.mark.usefixtures("both_quants")
def test_delete_unloads_the_model_first_then_removes_it(
    manager: ModelManager, paths: DataPaths
) -> None:
    model = manager.import_file(starter_path(), Tier.NANO)
    paused = threading.Event()
    paused.set()
    with pytest.raises(DownloadPaused):  # a q8_0 download paused at once: its .part is there
        manager.download(Tier.NANO, manager.source(Tier.NANO, "q8_0"), cancel=paused)
    assert manager.status(Tier.NANO, MEMORY, 4096, fetch=False).state is ModelState.PAUSED
    host = _RecordingHost(model.path)
    removed = manager.delete(Tier.NANO, host)
    assert host.file_existed_at_close is True
    assert removed == [model.path, paths.models / f"{NANO_Q8}.part"]
    assert manager.registry.entry(Tier.NANO) == TierEntry()
    assert Tier.NANO not in ModelStore(paths.models).installed()
    assert manager.status(Tier.NANO, MEMORY, 4096, fetch=False).state is ModelState.NOT_INSTALLED


def test_fit_is_fits_tight_or_wont_fit_against_the_selectors_budget() -> None:
    memory = MemoryBudget(ram_available=8_000_000_000, vram_free=2_000_000_000)
    budget = placement.budget(memory)
    assert 8_400_000_000 < budget <= 8_500_000_000  # RAM and VRAM, less the headroom
    assert fit.estimate(1_000_000_000, memory).fit is fit.Fit.FITS
    assert fit.estimate(int(budget * 0.8), memory).fit is fit.Fit.TIGHT
    assert fit.estimate(budget + 1, memory).fit is fit.Fit.WONT_FIT
    # A longer context needs more memory for the same model.
    assert fit.needed_for(Tier.LARGE, 9_000_000_000, 32768) > fit.needed_for(
        Tier.LARGE, 9_000_000_000, 4096
    )


def test_the_overview_gives_each_tier_a_fit_for_this_machine(
    manager: ModelManager, hub: HubServer
) -> None:
    hub.add_repo(NANO.repo_id, {NANO.filename: Blob(starter_path())})
    small = MemoryBudget(ram_available=2_000_000_000, vram_free=None)
    overview = manager.overview(small, 4096)
    fits = {status.tier: status.fit.fit for status in overview.tiers if status.fit}
    assert fits[Tier.NANO] is fit.Fit.FITS
    assert fits[Tier.LARGE] is fit.Fit.WONT_FIT
    nano = overview.tiers[Tier.NANO]
    assert (nano.size, nano.size_is_estimate) == (starter_path().stat().st_size, False)
    assert overview.tiers[Tier.LARGE].size_is_estimate  # that repo is not on this Hub


def test_the_registry_is_written_atomically_and_a_broken_one_is_ignored(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    record = ModelRecord(origin="import", stem="x", files=(FileRecord("x.gguf", 3, "ab" * 32),))
    registry.update(Tier.SMALL, lambda entry: TierEntry(installed=record))
    assert Registry(tmp_path).entry(Tier.SMALL).installed == record
    assert [p.name for p in tmp_path.iterdir()] == ["registry.json"]  # no temporary left

    data = json.loads(registry.path.read_text())
    data["tiers"]["SMALL"]["installed"]["files"][0]["name"] = "../escape.gguf"
    registry.path.write_text(json.dumps(data))
    assert registry.entry(Tier.SMALL).installed is None  # an unsafe name is never trusted
    registry.path.write_text("{ not json")
    assert registry.entries() == {}
    assert ModelStore(tmp_path).installed() == {}
