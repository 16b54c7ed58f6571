"""The first-run recommendation on recorded machines: NANO + MICRO + the largest tier that
fits in free memory and, with the others, on the disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from bizra_desktop.core.models.hub import Hub
from bizra_desktop.core.models.manager import ModelManager, TierStatus
from bizra_desktop.core.models.recommend import Machine, recommend, survey
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import DEFAULT_N_CTX
from bizra_desktop.core.tiers import Tier
from tests.helpers import recorded_machine, starter_path

NANO, MICRO, SMALL, MEDIUM, LARGE = Tier


@pytest.fixture
def manager(bizra_home: Path) -> ModelManager:
    # No Hub is asked (fetch=False below): sizes are the catalogue's Q4_K_M estimates.
    return ModelManager(DataPaths(bizra_home).ensure(), Hub("http://127.0.0.1:9", token=False))


def _statuses(manager: ModelManager, machine: Machine) -> list[TierStatus]:
    return manager.overview(machine.memory(), DEFAULT_N_CTX, fetch=False).tiers


@pytest.mark.parametrize(
    ("machine", "tiers"),
    [
        ("desktop-rtx3060", (NANO, MICRO, LARGE)),  # 24 GB RAM + 11 GB VRAM free
        ("laptop-8gb", (NANO, MICRO, SMALL)),  # 5 GB free: the 7B would be tight
        ("netbook-4gb", (NANO,)),  # 2 GB free: MICRO would be tight
        ("starved", ()),  # not even NANO fits comfortably: the starter model answers
        ("small-disk", (NANO, MICRO, SMALL)),  # LARGE fits in memory, not on the disk
    ],
)
def test_the_recommendation_follows_the_recorded_machine(
    manager: ModelManager, machine: str, tiers: tuple[Tier, ...]
) -> None:
    recorded = recorded_machine(machine)
    advice = recommend(_statuses(manager, recorded), recorded)
    assert advice.tiers == tiers
    assert advice.to_download == tiers  # nothing installed yet
    assert advice.download_bytes == sum(tier.spec.approx_file_bytes for tier in tiers)
    assert advice.download_bytes <= recorded.disk_free
    assert advice.reason


def test_the_reasons_say_why(manager: ModelManager) -> None:
    desktop = recorded_machine("desktop-rtx3060")
    reason = recommend(_statuses(manager, desktop), desktop).reason
    assert "LARGE (14B) is the largest tier that fits" in reason
    assert "graphics memory" in reason
    small_disk = recorded_machine("small-disk")
    assert "only SMALL (3B) fits on the disk too" in (
        recommend(_statuses(manager, small_disk), small_disk).reason
    )
    starved = recorded_machine("starved")
    assert "starter model answers" in recommend(_statuses(manager, starved), starved).reason


def test_an_installed_tier_is_kept_and_not_downloaded_again(manager: ModelManager) -> None:
    manager.import_file(starter_path(), MICRO)
    laptop = recorded_machine("laptop-8gb")
    advice = recommend(_statuses(manager, laptop), laptop)
    assert advice.tiers == (NANO, MICRO, SMALL)
    assert advice.to_download == (NANO, SMALL)
    assert not advice.complete


def test_a_machine_records_and_reads_back(tmp_path: Path) -> None:
    here = survey(tmp_path / "models-not-made-yet")  # its drive counts
    assert here.ram_total >= here.ram_available > 0 and here.disk_free > 0
    assert Machine.from_json(here.to_json()) == here
    desktop = recorded_machine("desktop-rtx3060")
    assert desktop.memory().vram_free == 11811160064
    assert desktop.describe() == [
        "Memory: 34.4 GB RAM, 24.0 GB free now",
        "Graphics: GPU 0: NVIDIA GeForce RTX 3060 (11.8 of 12.9 GB free)",
        "Disk: 412.0 GB free for models",
    ]
