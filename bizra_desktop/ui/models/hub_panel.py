"""Finding other GGUF models on Hugging Face and picking one for a tier.

The panel only shows and asks: the window sends its requests to the manager worker and hands
back what the Hub answered.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QStringListModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
)

from bizra_desktop.core.models.catalogue import RemoteModel
from bizra_desktop.core.models.progress import size_text
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui import accessibility

_Index = QModelIndex | QPersistentModelIndex


def _count(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def describe(model: RemoteModel) -> str:
    """'qwen2.5-7b-instruct-q8_0 · 8.1 GB · 3 parts'"""
    parts = f" · {len(model.files)} parts" if len(model.files) > 1 else ""
    return f"{model.source.stem} · {size_text(model.size)}{parts}"


class RemoteModelList(QAbstractListModel):
    """The GGUF models of one repository listing."""

    def __init__(self) -> None:
        super().__init__()
        self._models: list[RemoteModel] = []

    def set_models(self, models: list[RemoteModel]) -> None:
        self.beginResetModel()
        self._models = list(models)
        self.endResetModel()

    def model_at(self, row: int) -> RemoteModel | None:
        return self._models[row] if 0 <= row < len(self._models) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._models)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        model = self.model_at(index.row()) if index.isValid() else None
        if model is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return describe(model)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(file.path for file in model.files)
        return None


class HubPanel(QGroupBox):
    search_requested = Signal(str)
    quantizations_requested = Signal()
    repo_chosen = Signal(str)
    assign_requested = Signal(object)  # RemoteModel

    def __init__(self) -> None:
        super().__init__("Other models on Hugging Face")
        self.query = QLineEdit(placeholderText="Search GGUF repositories, e.g. “qwen2.5 coder”")
        self.query.setClearButtonEnabled(True)
        self.search_button = QPushButton("Search")
        self.quantizations_button = QPushButton("Other quantizations of this tier")
        self.repos = QStringListModel()
        self.repo_view = QListView()
        self.repo_view.setModel(self.repos)
        self.models = RemoteModelList()
        self.model_view = QListView()
        self.model_view.setModel(self.models)
        self.assign_button = QPushButton("Download for this tier")
        self.assign_button.setEnabled(False)
        for widget, name, description in (
            (self.query, "Search Hugging Face", "Words to look for in GGUF repository names."),
            (self.search_button, "Search", "Search Hugging Face for GGUF repositories."),
            (
                self.quantizations_button,
                "Other quantizations",
                "List the other quantizations of the selected tier's model.",
            ),
            (self.repo_view, "Repositories", "Repositories found; choose one to list its files."),
            (self.model_view, "Model files", "The chosen repository's GGUF files and sizes."),
            (self.assign_button, "Download for this tier", "Use the chosen file for the tier."),
        ):
            accessibility.describe(widget, name, description)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # it quotes the Hub's answers
        self.note.setWordWrap(True)
        self.note.setObjectName("hub-note")
        self.note.setText(
            "Search for a repository, or list the other quantizations of the selected tier; "
            "then pick a model and download it for that tier."
        )
        self._target_ok = False  # a tier is selected and free to take a download

        row = QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(self.search_button)
        row.addWidget(self.quantizations_button)
        lists = QHBoxLayout()
        lists.addWidget(self.repo_view, 2)
        lists.addWidget(self.model_view, 3)
        bottom = QHBoxLayout()
        bottom.addWidget(self.note, 1)
        bottom.addWidget(self.assign_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(lists, 1)
        layout.addLayout(bottom)

        self.query.returnPressed.connect(self._search)
        self.search_button.clicked.connect(self._search)
        self.quantizations_button.clicked.connect(self._quantizations)
        self.repo_view.selectionModel().currentChanged.connect(self._on_repo)
        self.model_view.selectionModel().currentChanged.connect(self._update_assign)
        self.assign_button.clicked.connect(self._assign)

    # --- asking ----------------------------------------------------------------------------

    def _search(self) -> None:
        words = self.query.text().strip()
        if words:
            self.note.setText(f"Searching for “{words}”…")
            self.search_requested.emit(words)

    def _quantizations(self) -> None:
        self.note.setText("Listing the quantizations…")
        self.quantizations_requested.emit()

    def _on_repo(self, index: QModelIndex, _previous: QModelIndex) -> None:
        repo_id = index.data() if index.isValid() else None
        if repo_id:
            self.note.setText(f"Listing {repo_id}…")
            self.repo_chosen.emit(repo_id)

    def _assign(self) -> None:
        chosen = self.models.model_at(self.model_view.currentIndex().row())
        if chosen is not None:
            self.assign_requested.emit(chosen)

    # --- answers ---------------------------------------------------------------------------

    def show_repos(self, words: str, repos: list[str]) -> None:
        self.repos.setStringList(repos)
        self.models.set_models([])
        self.note.setText(
            f"Found {_count(len(repos), 'repository', 'repositories')} of GGUF models for "
            f"“{words}”; pick one."
            if repos
            else f"No repository with GGUF models matches “{words}”."
        )
        self._update_assign()

    def show_models(self, listed: str, models: list[RemoteModel]) -> None:
        self.models.set_models(models)
        self.note.setText(
            f"{listed}: {_count(len(models), 'GGUF model')}; pick one and download it for the tier."
            if models
            else f"{listed} has no complete GGUF model."
        )
        self._update_assign()

    def show_error(self, message: str) -> None:
        self.note.setText(message)

    def set_target(self, tier: Tier | None, can_download: bool) -> None:
        """The tier selected in the table, and whether it can take a download now."""
        self._target_ok = tier is not None and can_download
        self.assign_button.setText(
            f"Download for {tier.name}" if tier is not None else "Download for a tier"
        )
        self.quantizations_button.setEnabled(tier is not None)
        self._update_assign()

    def _update_assign(self, *_: object) -> None:
        chosen = self.models.model_at(self.model_view.currentIndex().row())
        self.assign_button.setEnabled(chosen is not None and self._target_ok)
