"""The window's status bar: the local API's address, the backend and model of the last answer,
the memory of the app and its inference host, and a model load's busy bar with Cancel."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from bizra_desktop.core.hardware import process_memory
from bizra_desktop.core.pipeline import Loaded
from bizra_desktop.ui.accessibility import describe

STATUS_INTERVAL_MS = 2000


class StatusBar(QStatusBar):
    def __init__(self, host_pid: Callable[[], int | None]) -> None:
        """`host_pid`: the inference host's process, if it runs (its memory is counted too)."""
        super().__init__()
        self._host_pid = host_pid
        self.backend_label = QLabel("backend: —")
        self.model_label = QLabel("model: none loaded")
        self.memory_label = QLabel()
        self.api_label = QLabel()
        self.api_label.setVisible(False)
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 0)  # busy indicator: llama.cpp reports no load progress
        self.loading_bar.setMaximumWidth(120)
        self.cancel_load = QPushButton("Cancel")
        describe(self.cancel_load, "Cancel loading", "Stop loading the model.")
        for widget in (self.api_label, self.backend_label, self.model_label, self.memory_label):
            self.addPermanentWidget(widget)
        self.addWidget(self.loading_bar)
        self.addWidget(self.cancel_load)
        self.show_loading(None)
        self.timer = QTimer(self)
        self.timer.setInterval(STATUS_INTERVAL_MS)
        self.timer.timeout.connect(self.update_memory)
        self.timer.start()
        self.update_memory()

    def show_loading(self, model_name: str | None) -> None:
        """A model is loading (its name), or none is."""
        self.loading_bar.setVisible(model_name is not None)
        self.cancel_load.setVisible(model_name is not None)
        if model_name is not None:
            self.showMessage(f"Loading {model_name}…")
        else:
            self.clearMessage()

    def show_loaded(self, loaded: Loaded, model_name: str | None) -> None:
        self.show_loading(None)
        self.backend_label.setText(f"backend: {loaded.runtime}")
        if model_name is not None:
            self.model_label.setText(f"model: {model_name}")

    def show_api(self, text: str | None) -> None:
        """The local API's address or why it is off; None: it is not wanted."""
        self.api_label.setVisible(text is not None)
        self.api_label.setText(text or "")

    def update_memory(self) -> None:
        own = process_memory(None) or 0
        pid = self._host_pid()
        host = process_memory(pid) if pid else 0
        self.memory_label.setText(f"memory: {(own + (host or 0)) / 1e6:,.0f} MB")
