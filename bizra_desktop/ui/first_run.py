"""The first-run guide: what this computer has, which tiers fit, a recommended set to download
with one button, an import for people offline, and an honest way to start with the built-in
starter model. Opens by itself on a first start with no tier installed; Help opens it again.

Looking at the machine (nvidia-smi) and at the Hub (sizes, reachability) happens on a worker
thread; downloads run one after another on the model manager's DownloadJobs, so the guide
shows the same progress the manager does and can be hidden while they go on.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bizra_desktop.core.models.manager import ModelManager, Overview
from bizra_desktop.core.models.progress import ModelState, Progress, size_text
from bizra_desktop.core.models.recommend import Machine, Recommendation, recommend, survey
from bizra_desktop.core.models.store import STARTER_NAME
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.accessibility import describe
from bizra_desktop.ui.background import start_thread, stop_thread
from bizra_desktop.ui.labels import named_label
from bizra_desktop.ui.models.download_worker import DownloadJob, Outcome
from bizra_desktop.ui.models.shared import shared_manager

_QUEUED = Qt.ConnectionType.QueuedConnection
_WORKER_STOP_MS = 2_000
STARTER_TEXT = (
    f"<b>Or start with the built-in starter model.</b> {STARTER_NAME} is a 135-million-parameter "
    "English model (98 MB) that ships inside BIZRA, so the app answers at once, offline. It "
    "stands in for every tier until one is installed: good for trying the app, far too small "
    "for real answers, and every answer it gives says so on its badge."
)


class _Column:
    TIER, MODEL, DOWNLOAD, FIT, STATE = range(5)
    TITLES = ("Tier", "Model", "Download", "Fits here?", "State")


def _tier_table() -> QTableWidget:
    """One row a tier: a tick box to download it, its model, size, fit and state."""
    table = QTableWidget(len(Tier), len(_Column.TITLES))
    table.setHorizontalHeaderLabels(_Column.TITLES)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    describe(
        table,
        "Model tiers",
        "Each tier's model, download size, whether it fits here; tick the tiers to download.",
    )
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(_Column.STATE, QHeaderView.ResizeMode.Stretch)
    rows = table.verticalHeader().defaultSectionSize() * len(Tier)
    table.setFixedHeight(rows + header.sizeHint().height() + 2 * table.frameWidth())
    for tier in Tier:
        item = QTableWidgetItem(tier.display)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        table.setItem(tier, _Column.TIER, item)
        table.setItem(tier, _Column.MODEL, QTableWidgetItem(tier.spec.model_name))
        for column in (_Column.DOWNLOAD, _Column.FIT, _Column.STATE):
            table.setItem(tier, column, QTableWidgetItem("…"))
    return table


class GuideWorker(QObject):
    """Off the GUI thread: the machine, the Hub's sizes and fits, imports."""

    survey_requested = Signal()
    import_requested = Signal(str, object)  # path, Tier

    surveyed = Signal(object, object)  # Machine, Overview
    imported = Signal(object, str)  # Tier, message
    failed = Signal(str)

    def __init__(self, paths: DataPaths, manager: ModelManager, machine: Machine | None) -> None:
        super().__init__()
        self.paths = paths
        self.manager = manager
        self.recorded = machine  # tests and screenshots pass recorded hardware
        self.survey_requested.connect(self._survey, _QUEUED)
        self.import_requested.connect(self._import, _QUEUED)

    @Slot()
    def _survey(self) -> None:
        try:
            machine = self.recorded or survey(self.paths.models)
            n_ctx = load_settings(self.paths.settings).n_ctx
            overview = self.manager.overview(machine.memory(), n_ctx, fetch=True)
        except Exception as error:  # the guide must say so, not wait for ever
            self.failed.emit(f"cannot look at this computer: {type(error).__name__}: {error}")
            return
        self.surveyed.emit(machine, overview)

    @Slot(str, object)
    def _import(self, path: str, tier: Tier) -> None:
        try:
            model = self.manager.import_file(Path(path), tier)
        except (OSError, ValueError) as error:  # a bad file, a name clash, the disk
            self.failed.emit(str(error))
            return
        self.imported.emit(tier, f"{tier.display}: imported {model.path.name}")


class FirstRunGuide(QWidget):
    """`done` is emitted once the user has chosen: downloads started, a file imported, or the
    starter model; `installed` each time a tier arrives."""

    done = Signal()
    installed = Signal()

    def __init__(
        self, paths: DataPaths, parent: QWidget | None = None, machine: Machine | None = None
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Welcome — BIZRA Desktop")
        self.setObjectName("first-run-guide")
        self.resize(820, 600)
        self.manager = shared_manager(paths)
        self.worker = GuideWorker(paths, self.manager, machine)
        self.worker_thread = start_thread(self.worker, "bizra-first-run")
        self.machine: Machine | None = None
        self.overview: Overview | None = None
        self.recommendation: Recommendation | None = None
        self.queue: list[Tier] = []
        self.job: DownloadJob | None = None
        self._build()
        self._wire()
        self.refresh()

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        title = named_label("guide-title")
        title.setText("Welcome to BIZRA Desktop")
        intro = named_label("guide-intro")
        intro.setText(
            "BIZRA answers each prompt with the smallest model that handles it well: five tiers "
            "of Qwen2.5, from NANO (0.5B, quick everyday answers) to LARGE (14B, hard problems). "
            "They are downloaded once, then everything runs on this computer."
        )
        self.machine_label = named_label("guide-machine", Qt.TextFormat.RichText)
        self.machine_label.setText("Looking at this computer…")
        self.offline = named_label("guide-offline", Qt.TextFormat.RichText)
        self.offline.hide()
        self.table = _tier_table()
        self.reason = named_label("guide-reason")
        self.download_button = QPushButton("Download the recommended tiers")
        self.download_button.setEnabled(False)
        self.download_button.setDefault(True)
        self.import_button = QPushButton("Import a GGUF file…")
        self.import_button.setToolTip("Use a model file you already have, for the tier chosen")
        self.import_tier = QComboBox()
        describe(self.import_tier, "Tier for the imported file", "Which tier the file serves.")
        for tier in Tier:
            self.import_tier.addItem(f"as {tier.display}", tier)
        actions = QHBoxLayout()
        actions.addWidget(self.download_button)
        actions.addStretch(1)
        actions.addWidget(self.import_button)
        actions.addWidget(self.import_tier)
        self.message = named_label("guide-message")
        starter = named_label("guide-starter", Qt.TextFormat.RichText)
        starter.setText(STARTER_TEXT)
        self.starter_button = QPushButton("Continue with the starter model")
        describe(
            self.download_button,
            "Download the recommended tiers",
            "Download the ticked tiers, one after another.",
        )
        describe(self.import_button, "Import a GGUF file", self.import_button.toolTip())
        describe(
            self.starter_button,
            "Continue with the starter model",
            "Close the guide and chat with the built-in starter model for now.",
        )
        closing = QHBoxLayout()
        closing.addWidget(starter, 1)
        closing.addWidget(self.starter_button, 0, Qt.AlignmentFlag.AlignBottom)

        layout = QVBoxLayout(self)
        for widget in (title, intro, self.offline, self.machine_label, self.table, self.reason):
            layout.addWidget(widget)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addLayout(closing)

    def _wire(self) -> None:
        self.worker.surveyed.connect(self._on_surveyed, _QUEUED)
        self.worker.imported.connect(self._on_imported, _QUEUED)
        self.worker.failed.connect(lambda text: self._say(text, error=True), _QUEUED)
        self.download_button.clicked.connect(self.download)
        self.import_button.clicked.connect(self._choose_import)
        self.starter_button.clicked.connect(self.continue_with_starter)
        self.table.itemChanged.connect(self._update_download_button)

    # --- what the machine has and what fits ---------------------------------------------------

    def refresh(self) -> None:
        self.worker.survey_requested.emit()

    def _on_surveyed(self, machine: Machine, overview: Overview) -> None:
        self.machine, self.overview = machine, overview
        lines = "<br>".join(html.escape(line) for line in machine.describe())  # GPU names
        self.machine_label.setText(f"<b>This computer</b><br>{lines}")
        self._show_offline(overview.hub_error)
        self.recommendation = recommend(overview.tiers, machine)
        chosen = set(self.recommendation.tiers)
        for status in overview.tiers:
            row = status.tier
            size = "—" if status.size is None else size_text(status.size)
            self._cell(row, _Column.DOWNLOAD, f"~{size}" if status.size_is_estimate else size)
            self._cell(row, _Column.FIT, status.fit.describe() if status.fit else "unknown")
            if row not in (self.queue + ([self.job.worker.tier] if self.job else [])):
                self._cell(row, _Column.STATE, str(status.state))
            check = self.table.item(row, _Column.TIER)
            if check is not None and self.job is None and not self.queue:
                installed = status.model is not None
                ticked = row in chosen or installed
                check.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        recommended = " + ".join(tier.name for tier in self.recommendation.tiers)
        advice = self.recommendation.reason
        self.reason.setText(f"{advice} Recommended: {recommended}." if recommended else advice)
        self._update_download_button()
        first_missing = next(iter(self.recommendation.to_download), Tier.NANO)
        self.import_tier.setCurrentIndex(first_missing)

    def _show_offline(self, hub_error: str | None) -> None:
        self.offline.setVisible(hub_error is not None)
        if hub_error is not None:
            self.offline.setText(
                f"<b>Offline</b> — Hugging Face cannot be reached ({html.escape(hub_error)}). "
                "Downloads need the internet; sizes marked ~ are estimates. You can import a "
                "GGUF file you already have, or continue with the starter model."
            )

    def _cell(self, row: int, column: int, text: str) -> None:
        item = self.table.item(row, column)
        if item is not None:
            item.setText(text)

    def ticked(self) -> list[Tier]:
        """The tiers ticked to download: the recommendation, as the user adjusted it."""
        ticked = []
        for tier in Tier:
            item = self.table.item(tier, _Column.TIER)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                ticked.append(tier)
        return ticked

    def _missing(self, tiers: list[Tier]) -> list[Tier]:
        if self.overview is None:
            return []
        installed = {status.tier for status in self.overview.tiers if status.model is not None}
        return [tier for tier in tiers if tier not in installed]

    def _update_download_button(self, *_: object) -> None:
        busy = self.job is not None
        missing = self._missing(self.ticked())
        offline = self.overview is None or self.overview.hub_error is not None
        self.download_button.setEnabled(bool(missing) and not busy and not offline)
        if busy:
            self.download_button.setText("Downloading…")
        elif offline:
            self.download_button.setText("Download (needs Hugging Face)")
        elif missing and self.overview is not None:
            sizes = {status.tier: status.size or 0 for status in self.overview.tiers}
            total = size_text(sum(sizes[tier] for tier in missing))
            names = " + ".join(tier.name for tier in missing)
            self.download_button.setText(f"Download {names} ({total})")
        else:
            self.download_button.setText("Ticked tiers are installed")

    # --- downloads and imports ----------------------------------------------------------------

    def download(self) -> None:
        """Download every ticked tier that is not installed, one after another."""
        missing = self._missing(self.ticked())
        if not missing or self.job is not None:
            return
        self.queue = missing
        for tier in missing:
            self._cell(tier, _Column.STATE, "waiting")
        self.starter_button.setText("Start chatting — downloads go on")
        self.done.emit()
        self._next_download()

    def _next_download(self) -> None:
        if not self.queue:
            self.job = None
            self._update_download_button()
            return
        tier = self.queue.pop(0)
        self.job = DownloadJob(self.manager, tier, None)
        self.job.worker.progressed.connect(self._on_progress, _QUEUED)
        self.job.worker.ended.connect(self._on_download_ended, _QUEUED)
        self._cell(tier, _Column.STATE, "connecting…")
        self._update_download_button()
        self.job.start()

    def _on_progress(self, tier: Tier, progress: Progress) -> None:
        verb = "checking" if progress.state is ModelState.VERIFYING else "downloading"
        speed = f" · {size_text(int(progress.speed))}/s" if progress.speed else ""
        self._cell(
            tier,
            _Column.STATE,
            f"{verb} {progress.fraction:.0%} ({size_text(progress.done)} of "
            f"{size_text(progress.total)}){speed}",
        )

    def _on_download_ended(self, tier: Tier, outcome: str, message: str) -> None:
        if self.job is not None:
            self.job.shutdown()
        self._say(message, error=outcome != Outcome.INSTALLED)
        if outcome == Outcome.INSTALLED:
            self.installed.emit()
        else:  # paused by closing, failed or offline: the rest waits for the user
            self.queue.clear()
            self._show_offline(message.removesuffix(".") if outcome == Outcome.OFFLINE else None)
        self._next_download()
        self.refresh()

    def _choose_import(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.import_file(Path(path), self.import_tier.currentData())

    def import_file(self, path: Path, tier: Tier) -> None:
        """Check `path` and install it as `tier`'s model (a bad file gets its reason below)."""
        self._say(f"{tier.display}: checking {path.name}…")
        self._cell(tier, _Column.STATE, "importing…")
        self.worker.import_requested.emit(str(path), tier)

    def _on_imported(self, _tier: Tier, message: str) -> None:
        self._say(f"{message}; the next prompt can use it")
        self.installed.emit()
        self.done.emit()
        self.refresh()

    def continue_with_starter(self) -> None:
        """Remembered: the guide does not open by itself again. Downloads under way go on."""
        self.done.emit()
        if self.job is None:
            self.close()
        else:
            self.hide()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.style().polish(self.message)

    def shutdown(self) -> None:
        """Pause a running download (the model manager resumes it) and stop the worker."""
        self.queue.clear()
        if self.job is not None:
            self.job.shutdown()
            self.job = None
        stop_thread(self.worker_thread, _WORKER_STOP_MS)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None:  # closing the window must not stop the downloads
            event.ignore()
            self.hide()
            return
        super().closeEvent(event)
