"""The manager window's questions to Hugging Face, off the GUI thread and on a thread of their
own: offline, huggingface_hub may retry for many seconds, and imports, deletes and the tiers'
state must not wait behind it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot

from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.models.errors import HubError
from bizra_desktop.core.models.manager import ModelManager
from bizra_desktop.core.pipeline import DEFAULT_N_CTX
from bizra_desktop.core.tiers import Tier

# The Hub check wants only the listings (cached in the manager) and whether the Hub answered;
# the statuses it returns are dropped, so any memory will do.
_NO_MEMORY = MemoryBudget(0, None)


class HubWorker(QObject):
    check_requested = Signal()
    search_requested = Signal(str)  # words
    listing_requested = Signal(str)  # repository id
    quantizations_requested = Signal(object)  # Tier

    checked = Signal(object)  # None, or why Hugging Face cannot be reached
    found_repos = Signal(str, list)  # words, repository ids
    found_models = Signal(str, list)  # what was listed, [RemoteModel]
    failed = Signal(str)  # a search or listing went wrong

    def __init__(self, manager: ModelManager) -> None:
        super().__init__()
        self.manager = manager
        queued = Qt.ConnectionType.QueuedConnection
        self.check_requested.connect(self._check, queued)
        self.search_requested.connect(self._search, queued)
        self.listing_requested.connect(self._listing, queued)
        self.quantizations_requested.connect(self._quantizations, queued)

    @Slot()
    def _check(self) -> None:
        """List the tiers' repositories (for their sizes) and say whether the Hub answered."""
        overview = self.manager.overview(_NO_MEMORY, DEFAULT_N_CTX, fetch=True)
        self.checked.emit(overview.hub_error)

    @Slot(str)
    def _search(self, words: str) -> None:
        try:
            self.found_repos.emit(words, self.manager.search(words))
        except HubError as error:
            self.failed.emit(str(error))

    @Slot(str)
    def _listing(self, repo_id: str) -> None:
        try:
            self.found_models.emit(repo_id, self.manager.models_in(repo_id))
        except HubError as error:
            self.failed.emit(str(error))

    @Slot(object)
    def _quantizations(self, tier: Tier) -> None:
        try:
            found = self.manager.quantizations(tier)
        except HubError as error:
            self.failed.emit(str(error))
            return
        self.found_models.emit(f"{tier.spec.repo_id} ({tier.name} quantizations)", found)
