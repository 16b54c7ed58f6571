"""TierTableModel: one row per tier with its state, size, fit, progress and where it runs."""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from bizra_desktop.core.models.fit import Fit
from bizra_desktop.core.models.manager import TierStatus
from bizra_desktop.core.models.progress import ModelState, Progress, size_text
from bizra_desktop.core.remote import RemoteEndpoint
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui import theme

_Index = QModelIndex | QPersistentModelIndex
# The bar's fill, 0..1; BUSY for work that reports no progress (verify, delete); None: no bar.
ProgressRole = Qt.ItemDataRole.UserRole + 1
BUSY = -1.0
_FIT_ROLES = {Fit.FITS: "fits", Fit.TIGHT: "tight", Fit.WONT_FIT: "wont_fit"}  # theme.fit
_MOVING = (ModelState.DOWNLOADING, ModelState.VERIFYING)  # states that have a progress bar


class Column(IntEnum):
    TIER = 0
    MODEL = 1
    STATE = 2
    SIZE = 3
    FIT = 4
    RUNS_ON = 5
    PROGRESS = 6


_HEADERS = {
    Column.TIER: "Tier",
    Column.MODEL: "Model",
    Column.STATE: "State",
    Column.SIZE: "Size",
    Column.FIT: "Fit here",
    Column.RUNS_ON: "Answers on",
    Column.PROGRESS: "Progress",
}


def duration_text(seconds: float) -> str:
    """'45 s', '3 min', '1 h 5 min': as precise as a time left needs to be."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def progress_text(progress: Progress) -> str:
    """'42% · 12.3 MB/s · 3 min left' while downloading, 'checking SHA-256 42%' after."""
    percent = f"{progress.fraction:.0%}"
    if progress.state is ModelState.VERIFYING:
        return f"checking SHA-256 {percent}"
    parts = [percent, f"{size_text(progress.done)} of {size_text(progress.total)}"]
    if progress.speed > 0:
        parts.append(f"{size_text(int(progress.speed))}/s")
    eta = progress.eta_s
    if eta is not None and progress.done < progress.total:
        parts.append(f"{duration_text(eta)} left")
    return " · ".join(parts)


def _moving(status: TierStatus, progress: Progress) -> TierStatus:
    return replace(status, state=progress.state, progress=progress)


class TierTableModel(QAbstractTableModel):
    """The five tiers, always in order; the manager window fills in what the core reports.

    Rows never change in number: a refresh is a dataChanged, so selection and scroll position
    survive the frequent updates a download makes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._status: dict[Tier, TierStatus] = {}
        self._remote: dict[Tier, RemoteEndpoint] = {}
        self._activity: dict[Tier, str] = {}  # 'verifying…': work the core reports no state for
        # What this window's own download or import last reported. A refresh's snapshot may
        # have been taken before it and arrive after it: it must not roll the bar back, above
        # all when the network then stalls and no newer report comes.
        self._reported: dict[Tier, Progress] = {}

    # --- updates -------------------------------------------------------------------------------

    def set_statuses(self, statuses: list[TierStatus], remote: dict[Tier, RemoteEndpoint]) -> None:
        self._status = {status.tier: status for status in statuses}
        for tier, progress in self._reported.items():
            if tier in self._status:
                self._status[tier] = _moving(self._status[tier], progress)
        self._remote = dict(remote)
        self._changed(0, len(Tier) - 1)

    def set_progress(self, tier: Tier, progress: Progress) -> None:
        """A report from this window's running download or import of the tier: it stands
        until `finish`, whatever a refresh says meanwhile."""
        self._reported[tier] = progress
        status = self._status.get(tier)
        if status is None:
            return
        self._status[tier] = _moving(status, progress)
        self._changed(tier, tier)

    def finish(self, tier: Tier) -> None:
        """The tier's download or task has ended: refreshes say what the tier is now."""
        self._reported.pop(tier, None)
        self.set_activity(tier, None)

    def set_state(self, tier: Tier, state: ModelState, detail: str | None = None) -> None:
        """Show how a download ended at once; the refresh that follows confirms it."""
        status = self._status.get(tier)
        if status is None:
            return
        self._status[tier] = replace(status, state=state, progress=None, detail=detail)
        self._changed(tier, tier)

    def set_activity(self, tier: Tier, activity: str | None) -> None:
        if activity is None:
            self._activity.pop(tier, None)
        else:
            self._activity[tier] = activity
        self._changed(tier, tier)

    def _changed(self, first: int, last: int) -> None:
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(Column) - 1))

    # --- reading -------------------------------------------------------------------------------

    def status(self, tier: Tier) -> TierStatus | None:
        return self._status.get(tier)

    def remote(self, tier: Tier) -> RemoteEndpoint | None:
        return self._remote.get(tier)

    def activity(self, tier: Tier) -> str | None:
        return self._activity.get(tier)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(Tier)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(Column):
            return _HEADERS[Column(section)]
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(Tier):
            return str(section + 1)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(Tier):
            return None
        if not 0 <= index.column() < len(Column):
            return None
        tier, column = Tier(index.row()), Column(index.column())
        status = self._status.get(tier)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(tier, column, status)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(tier, column, status)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(column, status)
        if role == ProgressRole and column is Column.PROGRESS:
            return self._fill(tier, status)
        return None

    def _text(self, tier: Tier, column: Column, status: TierStatus | None) -> str:
        if column is Column.TIER:
            return tier.display
        if status is None:
            return "checking…" if column is Column.STATE else ""
        activity = self._activity.get(tier)
        if column is Column.MODEL:
            return status.name
        if column is Column.STATE:
            return activity or status.state.value
        if column is Column.SIZE:
            if status.size is None:
                return "?"
            return ("~" if status.size_is_estimate else "") + size_text(status.size)
        if column is Column.FIT:
            return status.fit.fit.value if status.fit is not None else "?"
        if column is Column.RUNS_ON:
            return self._runs_on(tier, status)
        if status.progress is not None and status.state in _MOVING:
            return progress_text(status.progress)
        return ""

    def _runs_on(self, tier: Tier, status: TierStatus) -> str:
        remote = self._remote.get(tier)
        if remote is not None:  # the selector prefers a configured server over the local file
            return remote.name
        return "this computer" if status.model is not None else "—"

    def _tooltip(self, tier: Tier, column: Column, status: TierStatus | None) -> str | None:
        if status is None:
            return None
        if column is Column.MODEL and status.source is not None:
            return f"{status.source.repo_id}\n{status.model.path if status.model else ''}".strip()
        if column is Column.STATE and status.detail:
            return status.detail
        if column is Column.SIZE and status.size is not None:
            estimate = "\nan estimate: Hugging Face could not be asked"
            return f"{status.size:,} bytes" + (estimate if status.size_is_estimate else "")
        if column is Column.FIT and status.fit is not None:
            return f"{status.fit.describe()}: weights, KV cache for the context, buffers"
        if column is Column.RUNS_ON and tier in self._remote:
            return f"{self._remote[tier].base_url}: prompts for {tier.name} go to this server"
        return None

    def _colour(self, column: Column, status: TierStatus | None) -> QBrush | None:
        if status is None:
            return None
        if column is Column.FIT and status.fit is not None:
            return QBrush(QColor(theme.current().fit[_FIT_ROLES[status.fit.fit]]))
        if column is Column.STATE and status.state is ModelState.FAILED:
            return QBrush(QColor(theme.current().error_text))
        return None

    def _fill(self, tier: Tier, status: TierStatus | None) -> float | None:
        if status is not None and status.progress is not None and status.state in _MOVING:
            return status.progress.fraction
        return BUSY if tier in self._activity else None
