"""The settings dialog: one form over the typed Settings schema."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bizra_desktop.core.hardware import Gpu
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.settings import THEMES, Settings
from bizra_desktop.ui.accessibility import describe

_THEME_LABELS = dict(zip(THEMES, ("as the system", "light", "dark"), strict=True))
_PREFERENCE_LABELS = {
    Preference.QUALITY: "quality: a bigger model when unsure",
    Preference.BALANCED: "balanced (default)",
    Preference.SPEED: "speed: a smaller model when unsure",
}


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        data_folder: str,
        gpus: Sequence[Gpu] | None = (),
        parent: QWidget | None = None,
    ) -> None:
        """`gpus` None: still being looked for (nvidia-smi can take seconds); `show_gpus`
        fills the choice in when they are known."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self._make_answer_fields(settings)
        gpu, drafting = self._make_engine_fields(settings, gpus)
        self._make_app_fields(settings)
        folder = QLabel(f"{data_folder}<br><small>set BIZRA_HOME to keep data elsewhere</small>")
        form = QFormLayout()
        # Each row: its label, its field, and what a screen reader says of the field (named
        # after the label); None where the row's controls are described on their own below.
        rows: tuple[tuple[str, QWidget | QLayout, str | None], ...] = (
            ("System prompt", self.system_prompt, "Instructions sent before every prompt."),
            ("Temperature", self.temperature, "0 answers the same each time; higher varies."),
            ("Top-p", self.top_p, "Sample only from the most likely tokens making up this share."),
            ("Max tokens", self.max_tokens, "The longest answer, in tokens."),
            ("Context length", self.n_ctx, "How many tokens of the conversation the model sees."),
            (
                "Threads",
                self.n_threads,
                "CPU threads for llama.cpp; auto: one per physical core, fewer while other "
                "programs keep cores busy; a number: always that many.",
            ),
            ("GPU layers", gpu, None),
            ("GPU", self.gpu_device, "Which GPU llama.cpp uses."),
            ("Attention", self.flash_attn, None),
            ("Speculative decoding", drafting, None),
            ("Routing", self.routing_preference, None),
            ("Local API", self.api_enabled, "Serve an OpenAI-compatible API on this computer."),
            ("API port", self.api_port, "The port the local API listens on."),
            ("API key", self.api_key, "The key callers of the local API must send; empty: none."),
            ("Theme", self.theme, "Light or dark, or as the system is."),
            ("Data folder", folder, None),
        )
        for label, field, description in rows:
            form.addRow(label, field)
            if isinstance(field, QWidget) and description is not None:
                describe(field, label, description)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._describe(buttons)

    def _make_answer_fields(self, settings: Settings) -> None:
        """What shapes an answer: system prompt, sampling, length, routing."""
        self.system_prompt = QPlainTextEdit(settings.system_prompt)
        self.system_prompt.setPlaceholderText("Empty: the model's own default")
        self.system_prompt.setMaximumHeight(90)
        self.temperature = self._decimal(0.0, 2.0, settings.temperature)
        self.top_p = self._decimal(0.01, 1.0, settings.top_p)
        self.max_tokens = self._integer(1, 32768, settings.max_tokens)
        self.routing_preference = QComboBox()
        for preference, label in _PREFERENCE_LABELS.items():
            self.routing_preference.addItem(label, preference.value)
        self.routing_preference.setCurrentIndex(
            self.routing_preference.findData(settings.routing_preference)
        )
        self.routing_preference.setToolTip(
            "How automatic routing trades answer quality against speed: 'quality' sends an "
            "uncertain prompt to the bigger model sooner, 'speed' keeps it on the smaller one."
        )

    def _make_engine_fields(
        self, settings: Settings, gpus: Sequence[Gpu] | None
    ) -> tuple[QHBoxLayout, QHBoxLayout]:
        """How llama.cpp runs: context, threads, GPU, attention, drafting. Returns the rows
        that hold two controls: GPU layers, and speculative decoding."""
        self.n_ctx = self._integer(256, 131072, settings.n_ctx)
        self.n_ctx.setSingleStep(1024)
        self.n_threads = self._integer(0, 256, settings.n_threads)
        self.n_threads.setSpecialValueText("auto (fewer while others are busy)")
        self.gpu_auto = QCheckBox("automatic")
        self.gpu_auto.setChecked(settings.n_gpu_layers is None)
        self.gpu_layers = self._integer(-1, 999, settings.n_gpu_layers or 0)
        self.gpu_layers.setSpecialValueText("all")
        self.gpu_layers.setEnabled(settings.n_gpu_layers is not None)
        self.gpu_auto.toggled.connect(lambda auto: self.gpu_layers.setEnabled(not auto))
        self.gpu_device = QComboBox()
        if gpus is None:
            self.gpu_device.addItem("looking for GPUs…", settings.gpu_device)
            self.gpu_device.setEnabled(False)
        else:
            self.show_gpus(gpus)
        self.flash_attn = self._flag(
            "flash attention",
            settings.flash_attn,
            "Faster decoding on the CPU and on most GPUs; turn it off if a model misbehaves.",
        )
        self.draft_model = self._flag(
            "a smaller tier drafts",
            settings.draft_model,
            "When NANO (or MICRO) is installed it guesses the next tokens for MEDIUM and LARGE, "
            "which check several at once: faster, and the same answer.",
        )
        self.prompt_lookup = self._flag(
            "prompt lookup",
            settings.prompt_lookup,
            "Guesses the next tokens from text the prompt quotes (rewrites, code fixes): "
            "faster when the answer repeats it, and the same answer.",
        )
        return _side_by_side(self.gpu_auto, self.gpu_layers), _side_by_side(
            self.draft_model, self.prompt_lookup
        )

    def _make_app_fields(self, settings: Settings) -> None:
        """The local API and the look."""
        self.api_enabled = QCheckBox("serve an OpenAI-compatible API on 127.0.0.1")
        self.api_enabled.setChecked(settings.api_enabled)
        self.api_port = self._integer(1, 65535, settings.api_port)
        self.api_key = QLineEdit(settings.api_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.api_key.setPlaceholderText("none: any local program may call it")
        self.theme = QComboBox()
        for value, label in _THEME_LABELS.items():
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(self.theme.findData(settings.theme))

    def _describe(self, buttons: QDialogButtonBox) -> None:
        """What a screen reader says for the controls named otherwise than their row, and for
        the buttons."""
        for widget, name, description in (
            (self.gpu_auto, "Automatic GPU layers", "BIZRA decides how many layers the GPU runs."),
            (self.gpu_layers, "GPU layers", "How many of the model's layers run on the GPU."),
            (self.flash_attn, "Flash attention", self.flash_attn.toolTip()),
            (self.draft_model, "Draft with a smaller tier", self.draft_model.toolTip()),
            (self.prompt_lookup, "Prompt lookup", self.prompt_lookup.toolTip()),
            (self.routing_preference, "Routing preference", "Quality against speed."),
        ):
            describe(widget, name, description)
        for button, description in (
            (QDialogButtonBox.StandardButton.Ok, "Save the settings and close."),
            (QDialogButtonBox.StandardButton.Cancel, "Close without saving."),
        ):
            push = buttons.button(button)
            describe(push, push.text().replace("&", ""), description)

    @staticmethod
    def _decimal(low: float, high: float, value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(low, high)
        box.setSingleStep(0.05)
        box.setDecimals(2)
        box.setValue(value)
        return box

    def show_gpus(self, gpus: Sequence[Gpu]) -> None:
        """The GPU choice: every GPU, one of `gpus`, or the saved one if it is gone."""
        box = self.gpu_device
        chosen = self._settings.gpu_device
        box.clear()
        box.setEnabled(bool(gpus) or chosen is not None)
        if not gpus and chosen is None:
            box.addItem("every GPU llama.cpp finds (nvidia-smi lists none)", None)
            return
        box.addItem("every GPU (llama.cpp splits the layers)", None)
        for gpu in gpus:
            box.addItem(gpu.describe(), gpu.index)
        if chosen is not None and all(gpu.index != chosen for gpu in gpus):
            # Kept, not dropped: the GPU may be back next time (an eGPU, a driver reinstall).
            box.addItem(f"GPU {chosen} (not found now: every GPU is used meanwhile)", chosen)
        box.setCurrentIndex(box.findData(chosen) if chosen is not None else 0)

    @staticmethod
    def _flag(text: str, checked: bool, tip: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setChecked(checked)
        box.setToolTip(tip)
        return box

    @staticmethod
    def _integer(low: int, high: int, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        return box

    def result_settings(self) -> Settings:
        return replace(
            self._settings,
            system_prompt=self.system_prompt.toPlainText().strip(),
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            max_tokens=self.max_tokens.value(),
            n_ctx=self.n_ctx.value(),
            n_threads=self.n_threads.value(),
            n_gpu_layers=None if self.gpu_auto.isChecked() else self.gpu_layers.value(),
            gpu_device=self.gpu_device.currentData(),
            flash_attn=self.flash_attn.isChecked(),
            draft_model=self.draft_model.isChecked(),
            prompt_lookup=self.prompt_lookup.isChecked(),
            routing_preference=self.routing_preference.currentData(),
            api_enabled=self.api_enabled.isChecked(),
            api_port=self.api_port.value(),
            api_key=self.api_key.text().strip(),
            theme=self.theme.currentData(),
        )


def _side_by_side(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row
