"""The manager window's work on this computer, off the GUI thread: the tiers' state, verify,
import and delete. Requests come in as queued signals and run one after another, so a
snapshot never shows an older state than the one before it; results go out as signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from bizra_desktop.core.engine.host import InferenceHost
from bizra_desktop.core.hardware import MemoryBudget, memory_budget
from bizra_desktop.core.models.manager import ModelManager, Overview
from bizra_desktop.core.models.progress import size_text
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.remote import RemoteEndpoint, load_remote_tiers
from bizra_desktop.core.settings import load_settings
from bizra_desktop.core.tiers import Tier


@dataclass(frozen=True)
class Snapshot:
    """Everything the window shows about the tiers. Sizes of models not installed come from
    the Hub listings the HubWorker fetched, else from the catalogue's estimates."""

    overview: Overview
    memory: MemoryBudget
    n_ctx: int
    remote: dict[Tier, RemoteEndpoint]


class LocalWorker(QObject):
    refresh_requested = Signal()
    verify_requested = Signal(object)  # Tier
    import_requested = Signal(str, object)  # path, Tier
    delete_requested = Signal(object, bool)  # Tier, unload the inference host first

    refreshed = Signal(object)  # Snapshot
    progressed = Signal(object, object)  # Tier, Progress (hashing an import)
    succeeded = Signal(object, str)  # Tier, message
    failed = Signal(object, str)  # Tier or None, one-line reason

    def __init__(self, paths: DataPaths, manager: ModelManager, host: InferenceHost) -> None:
        super().__init__()
        self.paths = paths
        self.manager = manager
        self.host = host
        queued = Qt.ConnectionType.QueuedConnection
        self.refresh_requested.connect(self._refresh, queued)
        self.verify_requested.connect(self._verify, queued)
        self.import_requested.connect(self._import, queued)
        self.delete_requested.connect(self._delete, queued)

    @Slot()
    def _refresh(self) -> None:
        try:
            settings = load_settings(self.paths.settings)  # read each time: settings change
            memory = memory_budget(settings.gpu_device)  # as a prompt counts it
            overview = self.manager.overview(memory, settings.n_ctx, fetch=False)
            remote = load_remote_tiers(self.paths.remote_tiers)
        except Exception as error:  # the window must say so, not wait for ever
            self.failed.emit(None, f"cannot read the model folder: {type(error).__name__}: {error}")
            return
        self.refreshed.emit(Snapshot(overview, memory, settings.n_ctx, remote))

    @Slot(object)
    def _verify(self, tier: Tier) -> None:
        try:
            results = self.manager.verify((tier,))
        except OSError as error:
            self.failed.emit(tier, str(error))
            return
        if not results:
            self.failed.emit(tier, f"{tier.display} has no model to verify")
        elif results[0].ok:
            self.succeeded.emit(tier, f"{tier.display}: {results[0].message}")
        else:
            self.failed.emit(tier, f"{tier.display}: {results[0].message}")

    @Slot(str, object)
    def _import(self, path: str, tier: Tier) -> None:
        try:
            model = self.manager.import_file(
                Path(path), tier, lambda progress: self.progressed.emit(tier, progress)
            )
        except (OSError, ValueError) as error:  # ModelFileError, UnsafeNameError, conflicts, I/O
            self.failed.emit(tier, str(error))
            return
        self.succeeded.emit(
            tier,
            f"{tier.display}: imported {model.path.name} ({size_text(model.size_bytes)}); "
            "the next prompt can use it",
        )

    @Slot(object, bool)
    def _delete(self, tier: Tier, unload: bool) -> None:
        try:
            # The host may have this model loaded (and on Windows, open): the core closes it
            # before removing anything; the next prompt starts a new one.
            removed = self.manager.delete(tier, self.host if unload else None)
        except OSError as error:
            self.failed.emit(tier, f"{tier.display}: cannot delete: {error}")
            return
        names = ", ".join(sorted(path.name for path in removed)) or "nothing was on disk"
        self.succeeded.emit(tier, f"{tier.display}: removed {names}")
