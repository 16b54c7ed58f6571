"""Point a tier at an OpenAI-compatible server (a remote tier), or back at this computer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from bizra_desktop.core.remote import RemoteEndpoint, load_remote_tiers, save_remote_tiers
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui.accessibility import describe


class RemoteTierDialog(QDialog):
    """Saves to remote_tiers.json, which the selector reads on every prompt: the next prompt
    for the tier goes to the server (and falls back here when the server does not answer)."""

    def __init__(self, path: Path, tier: Tier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.tier = tier
        self.setWindowTitle(f"Remote server for {tier.display}")
        self.setMinimumWidth(460)
        self._endpoints = load_remote_tiers(path)
        current = self._endpoints.get(tier)
        self.base_url = QLineEdit(current.base_url if current else "")
        self.base_url.setPlaceholderText("http://workstation:8080/v1")
        self.model = QLineEdit(current.model if current else "")
        self.model.setPlaceholderText("the model name the server knows, e.g. qwen2.5-14b")
        self.api_key = QLineEdit(current.api_key if current else "")
        self.api_key.setPlaceholderText("none")
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # it quotes the URL as typed
        self.error.setObjectName("remote-error")  # red (theme.stylesheet)
        self.error.setWordWrap(True)
        self.error.hide()

        for widget, name, description in (
            (self.base_url, "Server URL", "The server's OpenAI-compatible base URL."),
            (self.model, "Model", "The model name the server knows."),
            (self.api_key, "API key", "The key the server asks for; empty: none."),
        ):
            describe(widget, name, description)
        form = QFormLayout()
        form.addRow("Server URL", self.base_url)
        form.addRow("Model", self.model)
        form.addRow("API key", self.api_key)
        intro = QLabel(
            f"Prompts for {tier.name} go to this OpenAI-compatible server (llama.cpp's server, "
            "vLLM, Ollama). When it does not answer, a model on this computer does."
        )
        intro.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.remove_button = buttons.addButton(
            "Use this computer", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.remove_button.setToolTip("Forget the server: the tier runs here again")
        self.remove_button.setEnabled(current is not None)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.remove_button.clicked.connect(self.remove)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        model = self.model.text().strip()
        if not model:
            self._show_error("Name the model the server should use.")
            return
        current = self._endpoints.get(self.tier)
        url, key = self.base_url.text().strip(), self.api_key.text().strip()
        try:  # both check the URL; replace() keeps a timeout set by hand in the file
            if current is None:
                endpoint = RemoteEndpoint(tier=self.tier, base_url=url, model=model, api_key=key)
            else:
                endpoint = replace(current, base_url=url, model=model, api_key=key)
        except ValueError as error:
            self._show_error(f"{error}.")
            return
        self._save({**self._endpoints, self.tier: endpoint})

    def remove(self) -> None:
        self._save({tier: e for tier, e in self._endpoints.items() if tier is not self.tier})

    def _save(self, endpoints: dict[Tier, RemoteEndpoint]) -> None:
        try:
            save_remote_tiers(self.path, endpoints)
        except OSError as error:
            self._show_error(f"cannot save {self.path}: {error.strerror or error}")
            return
        super().accept()

    def _show_error(self, message: str) -> None:
        self.error.setText(message[:1].upper() + message[1:])
        self.error.show()
