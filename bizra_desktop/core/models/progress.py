"""The states a tier's model goes through, and what a running download reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class ModelState(StrEnum):
    NOT_INSTALLED = "not installed"
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    VERIFYING = "verifying"
    INSTALLED = "installed"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Progress:
    """One report: `done` of `total` bytes of the whole model (every part of a split one)."""

    state: ModelState  # DOWNLOADING or VERIFYING
    file: str  # the file being fetched or hashed
    done: int
    total: int
    speed: float  # bytes per second over this session; 0 until something has moved

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current speed, or None while the speed is unknown."""
        return (self.total - self.done) / self.speed if self.speed > 0 else None


ProgressCallback = Callable[[Progress], None]


def size_text(count: int) -> str:
    """'4.7 GB', '512 MB': decimal units, as disks and the Hub count."""
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f} GB"
    return f"{count / 1e6:.0f} MB" if count >= 1_000_000 else f"{count / 1e3:.0f} kB"


class Meter:
    """Turns byte counts into Progress reports. Speed counts only bytes moved in this session:
    bytes resumed from a partial file took no time now and would make the ETA lie."""

    def __init__(self, total: int, report: ProgressCallback | None) -> None:
        self.total = total
        self.report = report
        self.done = 0
        self._moved = 0
        self._started = time.monotonic()

    def skip(self, count: int) -> None:
        """Bytes already on disk from an earlier session."""
        self.done += count

    def advance(self, count: int, state: ModelState, file: str) -> None:
        """`count` may be negative: the server ignored a Range request and the file restarts."""
        self.done += count
        self._moved += count
        if self.report is None:
            return
        elapsed = time.monotonic() - self._started
        speed = self._moved / elapsed if elapsed > 0 and self._moved > 0 else 0.0
        self.report(Progress(state=state, file=file, done=self.done, total=self.total, speed=speed))
