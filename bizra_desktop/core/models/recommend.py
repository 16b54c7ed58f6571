"""What a new user should download: this machine's memory, GPU and disk, which tiers fit, and a
recommended set — NANO and MICRO (the everyday prompts) plus the largest tier that fits.

The machine is a plain record, so a guide can be shown (and tested) for hardware recorded
elsewhere; `survey` measures the one it runs on.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizra_desktop.core.hardware import (
    Gpu,
    MemoryBudget,
    available_ram,
    free_vram,
    list_gpus,
    total_ram,
)
from bizra_desktop.core.models.fit import Fit
from bizra_desktop.core.models.manager import TierStatus
from bizra_desktop.core.models.progress import size_text
from bizra_desktop.core.tiers import Tier

# The trivial-to-moderate prompts, most of what people type, go to these two.
EVERYDAY_TIERS = (Tier.NANO, Tier.MICRO)
# Leave the disk some room after the downloads: a full disk breaks far more than this app.
DISK_RESERVE = 2_000_000_000


@dataclass(frozen=True)
class Machine:
    """What this computer offers models: memory, NVIDIA GPUs, and disk in the model folder."""

    ram_total: int
    ram_available: int
    gpus: tuple[Gpu, ...]
    disk_free: int

    def memory(self) -> MemoryBudget:
        """As the selector counts it for a prompt: free RAM plus free VRAM on every GPU."""
        return MemoryBudget(self.ram_available, free_vram(list(self.gpus)))

    def describe(self) -> list[str]:
        """One line each: memory, graphics, disk."""
        lines = [
            f"Memory: {size_text(self.ram_total)} RAM, {size_text(self.ram_available)} free now"
        ]
        if self.gpus:
            lines.extend(f"Graphics: {gpu.describe()}" for gpu in self.gpus)
        else:
            lines.append("Graphics: no NVIDIA GPU found, so models run on the processor")
        lines.append(f"Disk: {size_text(self.disk_free)} free for models")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "ram_total": self.ram_total,
            "ram_available": self.ram_available,
            "gpus": [
                {"index": g.index, "name": g.name, "free": g.free, "total": g.total}
                for g in self.gpus
            ],
            "disk_free": self.disk_free,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Machine:
        """A recorded machine (`to_json`'s output); KeyError/TypeError when it is not one."""
        gpus = tuple(
            Gpu(int(g["index"]), str(g["name"]), int(g["free"]), int(g["total"]))
            for g in data["gpus"]
        )
        return cls(int(data["ram_total"]), int(data["ram_available"]), gpus, int(data["disk_free"]))


def survey(models_dir: Path) -> Machine:
    """This machine, now. Slow where nvidia-smi runs: call it off the GUI thread."""
    folder = models_dir
    while not folder.exists() and folder != folder.parent:  # not made yet: its drive counts
        folder = folder.parent
    return Machine(total_ram(), available_ram(), tuple(list_gpus()), shutil.disk_usage(folder).free)


@dataclass(frozen=True)
class Recommendation:
    tiers: tuple[Tier, ...]  # the recommended set, installed ones included
    to_download: tuple[Tier, ...]  # those of them not installed yet
    download_bytes: int
    reason: str  # one or two sentences a person reads

    @property
    def complete(self) -> bool:
        return bool(self.tiers) and not self.to_download


def _fits(status: TierStatus) -> bool:
    return status.fit is not None and status.fit.fit is Fit.FITS


def _download_size(status: TierStatus) -> int:
    if status.model is not None:
        return 0
    return status.size if status.size is not None else status.tier.spec.approx_file_bytes


def recommend(statuses: Sequence[TierStatus], machine: Machine) -> Recommendation:
    """NANO and MICRO where they fit, plus the largest tier that fits in memory (not just
    "tight": the user will have other programs open) and, with the others, on the disk."""
    by_tier = {status.tier: status for status in statuses}
    fitting = [tier for tier in Tier if tier in by_tier and _fits(by_tier[tier])]
    if not fitting:
        return Recommendation(
            (),
            (),
            0,
            "No tier fits in this computer's free memory; the built-in starter model answers. "
            "Close other programs and open this guide again (Help → First-run guide).",
        )
    disk = machine.disk_free - DISK_RESERVE
    chosen: list[Tier] = []
    for tier in [t for t in EVERYDAY_TIERS if t in fitting]:
        if sum(_download_size(by_tier[t]) for t in [*chosen, tier]) <= disk:
            chosen.append(tier)
    for tier in reversed([tier for tier in fitting if tier > max(EVERYDAY_TIERS)]):
        if sum(_download_size(by_tier[t]) for t in [*chosen, tier]) <= disk:
            chosen.append(tier)
            break
    if not chosen:
        return Recommendation(
            (), (), 0, f"Not enough free disk space ({size_text(machine.disk_free)}) for any tier."
        )
    to_download = tuple(tier for tier in chosen if by_tier[tier].model is None)
    largest, top = max(fitting), max(chosen)
    memory = "free memory and graphics memory" if machine.gpus else "free memory"
    reason = f"{largest.display} is the largest tier that fits in this computer's {memory}"
    reason += f", but only {top.display} fits on the disk too." if top != largest else "."
    if top > max(EVERYDAY_TIERS):
        reason += (
            f" NANO and MICRO answer everyday prompts quickly; {top.name} takes the hard ones."
        )
    size = sum(_download_size(by_tier[tier]) for tier in to_download)
    return Recommendation(tuple(chosen), to_download, size, reason)
