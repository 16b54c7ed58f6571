"""One tier's download, run off the GUI thread: the core fetches, hashes and installs, and
the worker relays its progress and outcome as queued signals.

Each download gets its own thread, so a 9 GB model does not hold up a second download, a
refresh or an import; Pause sets the core's cancel flag, which is safe from any thread.
"""

from __future__ import annotations

import threading
from enum import StrEnum

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from bizra_desktop.core.models.errors import DownloadPaused, HubUnreachable
from bizra_desktop.core.models.manager import ModelManager
from bizra_desktop.core.models.progress import Progress
from bizra_desktop.core.models.records import ModelSource
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.background import start_thread, stop_thread

_STOP_WAIT_MS = 3_000


class Outcome(StrEnum):
    INSTALLED = "installed"
    PAUSED = "paused"
    FAILED = "failed"
    OFFLINE = "offline"  # the Hub could not be reached at all


class DownloadWorker(QObject):
    """Lives on its own QThread; `start_requested` runs the download there."""

    start_requested = Signal()
    progressed = Signal(object, object)  # Tier, Progress
    ended = Signal(object, str, str)  # Tier, Outcome, one-line message

    def __init__(self, manager: ModelManager, tier: Tier, source: ModelSource | None) -> None:
        super().__init__()
        self.manager = manager
        self.tier = tier
        self.source = source
        self.cancel = threading.Event()
        self.start_requested.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def _run(self) -> None:
        # Every report crosses as it comes: one per chunk fetched (10 MiB) or hashed (4 MiB) is
        # a few hundred a second at most, and the view repaints at its own pace. Dropping some
        # would leave a stale bar whenever the network stalls right after a dropped one.
        try:
            model = self.manager.download(
                self.tier, self.source, report=self._report, cancel=self.cancel
            )
        except DownloadPaused as paused:
            self.ended.emit(self.tier, Outcome.PAUSED, str(paused))
        except HubUnreachable as error:
            self.ended.emit(self.tier, Outcome.OFFLINE, str(error))
        except (OSError, ValueError) as error:  # the core's errors are all one line
            self.ended.emit(self.tier, Outcome.FAILED, str(error))
        except Exception as error:  # a bug must not leave the row "downloading" for ever
            self.ended.emit(self.tier, Outcome.FAILED, f"{type(error).__name__}: {error}")
        else:
            self.ended.emit(
                self.tier,
                Outcome.INSTALLED,
                f"{self.tier.display}: {model.path.name} is installed; the next prompt can use it",
            )

    def _report(self, progress: Progress) -> None:
        self.progressed.emit(self.tier, progress)


class DownloadJob:
    """A DownloadWorker and its thread, owned by the window."""

    def __init__(self, manager: ModelManager, tier: Tier, source: ModelSource | None) -> None:
        self.worker = DownloadWorker(manager, tier, source)
        self.thread: QThread | None = None
        self.discard = False  # Cancel: remove the partial download once it has stopped

    def start(self) -> None:
        self.thread = start_thread(self.worker, f"bizra-download-{self.worker.tier.name}")
        self.worker.start_requested.emit()

    def pause(self) -> None:
        """Thread-safe: the core stops at its next chunk and keeps the partial file."""
        self.worker.cancel.set()

    def shutdown(self) -> bool:
        """Pause and stop the thread; False if it is still finishing (it is then retired)."""
        self.pause()
        return self.thread is None or stop_thread(self.thread, _STOP_WAIT_MS)
