"""The model manager window: the five tiers, their downloads, imports, checks and servers.

Nothing here touches the network or a model file; workers do, each on its own thread: the
LocalWorker (the tiers' state, verify, import, delete), the HubWorker (listings, search) and
one DownloadWorker per download. What they install is in the registry the selector reads on
every prompt, so the chat uses a new tier from its next prompt on.
"""

from __future__ import annotations

import html
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bizra_desktop.core.models.catalogue import RemoteModel
from bizra_desktop.core.models.progress import ModelState, Progress
from bizra_desktop.core.models.records import ModelSource
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.accessibility import describe
from bizra_desktop.ui.background import start_thread, stop_thread
from bizra_desktop.ui.labels import named_label
from bizra_desktop.ui.models.actions import allowed
from bizra_desktop.ui.models.download_worker import DownloadJob, Outcome
from bizra_desktop.ui.models.hub_panel import HubPanel
from bizra_desktop.ui.models.hub_worker import HubWorker
from bizra_desktop.ui.models.local_worker import LocalWorker, Snapshot
from bizra_desktop.ui.models.progress_delegate import ProgressDelegate
from bizra_desktop.ui.models.remote_dialog import RemoteTierDialog
from bizra_desktop.ui.models.shared import shared_manager
from bizra_desktop.ui.models.tier_model import Column, TierTableModel

_QUEUED = Qt.ConnectionType.QueuedConnection
_WORKER_STOP_MS = 2_000


class Activity(StrEnum):
    """What the window is doing to a tier that the core has no state for."""

    CONNECTING = "connecting…"
    PAUSING = "pausing…"
    CANCELLING = "cancelling…"
    VERIFYING = "verifying…"
    IMPORTING = "importing…"
    DELETING = "deleting…"


class _Threads:
    """The window's workers and their threads. A plain object, so that it can still stop them
    when the window is destroyed without a close (its parent, the main window, went first)."""

    def __init__(self, local: LocalWorker, hub: HubWorker) -> None:
        self.local = local
        self.hub = hub
        self.local_thread = start_thread(local, "bizra-models")
        self.hub_thread = start_thread(hub, "bizra-models-hub")
        self.jobs: dict[Tier, DownloadJob] = {}
        self.stopped = False

    def shutdown(self) -> None:
        """Pause every download (Resume continues it) and stop the threads; once."""
        if self.stopped:
            return
        self.stopped = True
        for job in self.jobs.values():
            job.shutdown()
        self.jobs.clear()
        stop_thread(self.local_thread, _WORKER_STOP_MS)
        stop_thread(self.hub_thread, _WORKER_STOP_MS)

    def finished(self) -> bool:
        return self.local_thread.isFinished() and self.hub_thread.isFinished() and not self.jobs


class ModelManagerWindow(QWidget):
    def __init__(self, paths: DataPaths, pipeline: Pipeline, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.paths = paths
        self.pipeline = pipeline
        self.setWindowTitle("Models — BIZRA Desktop")
        self.resize(1040, 700)
        self.manager = shared_manager(paths)
        self.tiers = TierTableModel()
        self.threads = _Threads(
            LocalWorker(paths, self.manager, pipeline.host), HubWorker(self.manager)
        )
        self.destroyed.connect(self.threads.shutdown)
        self._build()
        self._wire()
        self.table.selectRow(0)
        self.refresh()  # what is on disk, at once
        self.check_hub()  # then the sizes the Hub reports, or that it is not there

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.offline = named_label("offline", Qt.TextFormat.RichText)
        self.offline.hide()
        self.machine = named_label("machine")
        self.machine.setText("Looking at this computer's memory…")
        self.table = QTableView()
        self.table.setModel(self.tiers)
        self.table.setItemDelegateForColumn(Column.PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.PROGRESS, QHeaderView.ResizeMode.Stretch)
        # Five rows, never more: the table is as tall as they are and the search gets the rest.
        rows = self.table.verticalHeader().defaultSectionSize() * len(Tier)
        self.table.setFixedHeight(rows + header.sizeHint().height() + 2 * self.table.frameWidth())
        self.detail = named_label("detail", Qt.TextFormat.RichText)
        self.failure = named_label("failure")

        self.download_button = QPushButton("Download")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Stop and keep what has arrived; closing the window pauses")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop and throw away what has arrived")
        self.verify_button = QPushButton("Verify")
        self.verify_button.setToolTip("Check the files against their SHA-256 again")
        self.delete_button = QPushButton("Delete")
        self.import_button = QPushButton("Import file…")
        self.import_button.setToolTip("Use a GGUF file you already have for this tier")
        self.remote_button = QPushButton("Remote server…")
        self.remote_button.setToolTip("Answer this tier's prompts on an OpenAI-compatible server")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Ask Hugging Face again")
        buttons = QHBoxLayout()
        for button in (
            self.download_button,
            self.pause_button,
            self.resume_button,
            self.cancel_button,
            self.verify_button,
            self.delete_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.import_button, self.remote_button, self.refresh_button):
            buttons.addWidget(button)
        self.message = named_label("message")
        self.hub_panel = HubPanel()

        layout = QVBoxLayout(self)
        layout.addWidget(self.offline)
        layout.addWidget(self.machine)
        layout.addWidget(self.table)
        layout.addWidget(self.detail)
        layout.addWidget(self.failure)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.hub_panel, 1)
        for widget, name, description in (
            (self.table, "Model tiers", "The five tiers: model, size, whether it fits, state."),
            (self.download_button, "Download", "Download the selected tier's model."),
            (self.pause_button, "Pause", self.pause_button.toolTip()),
            (self.resume_button, "Resume", "Continue the selected tier's paused download."),
            (self.cancel_button, "Cancel", self.cancel_button.toolTip()),
            (self.verify_button, "Verify", self.verify_button.toolTip()),
            (self.delete_button, "Delete", "Delete the selected tier's model file."),
            (self.import_button, "Import file", self.import_button.toolTip()),
            (self.remote_button, "Remote server", self.remote_button.toolTip()),
            (self.refresh_button, "Refresh", self.refresh_button.toolTip()),
        ):
            describe(widget, name, description)

    def _wire(self) -> None:
        local, hub, panel = self.threads.local, self.threads.hub, self.hub_panel
        local.refreshed.connect(self._on_refreshed, _QUEUED)
        local.progressed.connect(self._on_progress, _QUEUED)
        local.succeeded.connect(self._on_task_done, _QUEUED)
        local.failed.connect(self._on_task_failed, _QUEUED)
        hub.checked.connect(self._on_hub_checked, _QUEUED)
        hub.found_repos.connect(panel.show_repos, _QUEUED)
        hub.found_models.connect(panel.show_models, _QUEUED)
        hub.failed.connect(panel.show_error, _QUEUED)
        panel.search_requested.connect(hub.search_requested)
        panel.repo_chosen.connect(hub.listing_requested)
        panel.quantizations_requested.connect(self._list_quantizations)
        panel.assign_requested.connect(self._download_other)
        self.table.selectionModel().currentRowChanged.connect(self._update)
        self.tiers.dataChanged.connect(self._update)
        self.download_button.clicked.connect(self.download)
        self.resume_button.clicked.connect(self.download)
        self.pause_button.clicked.connect(self.pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.verify_button.clicked.connect(self.verify)
        self.delete_button.clicked.connect(self._confirm_delete)
        self.import_button.clicked.connect(self._choose_import)
        self.remote_button.clicked.connect(self.configure_remote)
        self.refresh_button.clicked.connect(self.check_hub)

    # --- the selected tier --------------------------------------------------------------------

    def selected_tier(self) -> Tier | None:
        index = self.table.currentIndex()
        return Tier(index.row()) if index.isValid() else None

    def select_tier(self, tier: Tier) -> None:
        self.table.selectRow(tier)

    def _update(self, *_: QModelIndex) -> None:
        """Buttons and the detail lines for the selected tier."""
        tier = self.selected_tier()
        status = self.tiers.status(tier) if tier is not None else None
        job = self.threads.jobs.get(tier) if tier is not None else None
        can = allowed(
            status,
            downloading=job is not None,
            pausing=job is not None and job.worker.cancel.is_set(),
            busy=tier is not None and self.tiers.activity(tier) is not None,
        )
        self.download_button.setEnabled(can.download)
        self.pause_button.setEnabled(can.pause)
        self.resume_button.setEnabled(can.resume)
        self.cancel_button.setEnabled(can.cancel)
        self.verify_button.setEnabled(can.verify)
        self.delete_button.setEnabled(can.delete)
        self.import_button.setEnabled(can.replace)
        self.remote_button.setEnabled(tier is not None)
        self.hub_panel.set_target(tier, can.replace)
        if tier is None or status is None:
            self.detail.clear()
            self.failure.clear()
            return
        where = f" from {status.source.repo_id}" if status.source else " (imported)"
        lines = [f"{status.name}{where}"]
        if status.model is not None:
            lines.append(f"file: {status.model.path}")
        if status.fit is not None:
            lines.append(f"memory: {status.fit.describe()}")
        remote = self.tiers.remote(tier)
        if remote is not None:
            lines.append(f"answered by {remote.name} ({remote.base_url})")
        details = html.escape(" · ".join(lines))  # names come from files and from the user
        self.detail.setText(f"<b>{tier.display}</b>: {details}")
        self.failure.setText(status.detail or "")

    # --- refresh ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.threads.local.refresh_requested.emit()

    def check_hub(self) -> None:
        self.threads.hub.check_requested.emit()

    def _on_refreshed(self, snapshot: Snapshot) -> None:
        self.tiers.set_statuses(snapshot.overview.tiers, snapshot.remote)
        self.machine.setText(
            f"This computer: {snapshot.memory.describe()} · context {snapshot.n_ctx:,} tokens. "
            "“Fit here” weighs each model's needs against this memory."
        )

    def _on_hub_checked(self, hub_error: str | None) -> None:
        self._show_offline(hub_error)
        self.refresh()  # with the sizes the Hub just listed

    def _show_offline(self, hub_error: str | None) -> None:
        if hub_error is None:
            self.offline.hide()
            return
        self.offline.setText(
            f"<b>Offline</b> — {html.escape(hub_error)}. Sizes marked ~ are estimates; "
            "downloads and search need Hugging Face. Press Refresh to try again."
        )
        self.offline.show()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.style().polish(self.message)  # the property picks the colour

    # --- downloads ----------------------------------------------------------------------------

    def download(self) -> None:
        """Download the selected tier's model, or resume its unfinished download."""
        tier = self.selected_tier()
        if tier is not None:
            self._start(tier, None)

    def _download_other(self, model: RemoteModel) -> None:
        tier = self.selected_tier()
        if tier is not None:
            self._say(f"{tier.display}: downloading {model.source}; it replaces the tier's model")
            self._start(tier, model.source)

    def _list_quantizations(self) -> None:
        tier = self.selected_tier()
        if tier is not None:
            self.threads.hub.quantizations_requested.emit(tier)

    def _start(self, tier: Tier, source: ModelSource | None) -> None:
        if tier in self.threads.jobs:
            return
        job = DownloadJob(self.manager, tier, source)
        job.worker.progressed.connect(self._on_progress, _QUEUED)
        job.worker.ended.connect(self._on_download_ended, _QUEUED)
        self.threads.jobs[tier] = job
        self.tiers.set_activity(tier, Activity.CONNECTING)
        job.start()

    def pause(self) -> None:
        tier = self.selected_tier()
        job = self.threads.jobs.get(tier) if tier is not None else None
        if tier is not None and job is not None:
            job.pause()
            self.tiers.set_activity(tier, Activity.PAUSING)

    def cancel(self) -> None:
        """Stop the download and throw its partial files away."""
        tier = self.selected_tier()
        if tier is None:
            return
        job = self.threads.jobs.get(tier)
        if job is not None:
            job.discard = True  # deleted once the worker has stopped writing
            job.pause()
            self.tiers.set_activity(tier, Activity.CANCELLING)
        else:
            self._delete(tier, unload=False)  # nothing installed: nothing can be loaded

    def _on_progress(self, tier: Tier, progress: Progress) -> None:
        if self.tiers.activity(tier) == Activity.CONNECTING:
            self.tiers.set_activity(tier, None)
        self.tiers.set_progress(tier, progress)

    def _on_download_ended(self, tier: Tier, outcome: str, message: str) -> None:
        job = self.threads.jobs.pop(tier, None)
        if job is not None:
            job.shutdown()  # its worker has returned: the thread ends at once
        self.tiers.finish(tier)
        if outcome != Outcome.INSTALLED and job is not None and job.discard:
            self._say(f"{tier.display}: download cancelled")
            self._delete(tier, unload=False)
            return
        if outcome == Outcome.INSTALLED:  # the refresh brings the model's file and fit
            self._show_offline(None)  # the Hub just answered
        elif outcome == Outcome.PAUSED:
            self.tiers.set_state(tier, ModelState.PAUSED)
        elif outcome == Outcome.FAILED:
            self.tiers.set_state(tier, ModelState.FAILED, message)
        else:
            self._show_offline(message.removesuffix("."))
        self._say(message, error=outcome in (Outcome.FAILED, Outcome.OFFLINE))
        self.refresh()

    # --- verify, import, delete -------------------------------------------------------------

    def verify(self) -> None:
        tier = self.selected_tier()
        if tier is not None:
            self.tiers.set_activity(tier, Activity.VERIFYING)
            self.threads.local.verify_requested.emit(tier)

    def _choose_import(self) -> None:
        tier = self.selected_tier()
        if tier is None:
            return
        path, _filter = QFileDialog.getOpenFileName(
            self,
            f"Import a GGUF model for {tier.display}",
            str(Path.home()),
            "GGUF models (*.gguf);;All files (*)",
        )
        if path:
            self.import_file(Path(path), tier)

    def import_file(self, path: Path, tier: Tier) -> None:
        """Check `path` and make it the tier's model (a bad file gets its reason below)."""
        self.tiers.set_activity(tier, Activity.IMPORTING)
        self._say(f"{tier.display}: checking {path.name}…")
        self.threads.local.import_requested.emit(str(path), tier)

    def _confirm_delete(self) -> None:
        tier = self.selected_tier()
        status = self.tiers.status(tier) if tier is not None else None
        if tier is None or status is None:
            return
        answer = QMessageBox.question(
            self,
            "Delete model",
            f"Delete {status.name} ({tier.display}) and any unfinished download of it?\n"
            "If the chat has it loaded, it is unloaded first.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._delete(tier, unload=True)

    def _delete(self, tier: Tier, *, unload: bool) -> None:
        self.tiers.set_activity(tier, Activity.DELETING)
        self.threads.local.delete_requested.emit(tier, unload)

    def _on_task_done(self, tier: Tier, message: str) -> None:
        self.tiers.finish(tier)
        self._say(message)
        self.refresh()

    def _on_task_failed(self, tier: Tier | None, message: str) -> None:
        self._say(message, error=True)
        if tier is not None:  # None: the refresh itself failed, and asking again would loop
            self.tiers.finish(tier)
            self.refresh()

    # --- remote tiers ---------------------------------------------------------------------

    def configure_remote(self) -> RemoteTierDialog | None:
        tier = self.selected_tier()
        if tier is None:
            return None
        dialog = RemoteTierDialog(self.paths.remote_tiers, tier, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.refresh)
        dialog.open()  # window-modal, and the event loop goes on: downloads keep reporting
        return dialog

    def closeEvent(self, event: QCloseEvent) -> None:
        self.threads.shutdown()
        super().closeEvent(event)
