"""The chat's preset picker: which preset (system prompt, sampling, routing preference) the
conversation answers with, and "Save settings as preset…" to make one of your own."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QInputDialog, QMessageBox, QWidget

from bizra_desktop.core.presets import Preset, PresetStore
from bizra_desktop.core.settings import Settings
from bizra_desktop.ui.accessibility import describe

_TOOLTIP = Qt.ItemDataRole.ToolTipRole
NO_PRESET = "Settings"  # the entry that applies nothing: the settings as they are


class PresetPicker(QComboBox):
    """The presets by name; its data is the preset's name, None for the settings."""

    def __init__(self, presets: PresetStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presets = presets
        self._known: dict[str, Preset] = {}  # as last read: current() needs no database
        describe(
            self,
            "Preset",
            "The system prompt, sampling and routing preference this conversation answers with.",
        )
        self.refresh()

    def refresh(self) -> None:
        """Read the presets again (one may have been saved), keeping the choice."""
        chosen = self.currentData()
        self.blockSignals(True)
        self.clear()
        self.addItem(NO_PRESET, None)
        self.setItemData(0, "Your settings as they are (File → Settings…)", _TOOLTIP)
        self._known = {preset.name: preset for preset in self.presets.list()}
        for preset in self._known.values():
            self.addItem(preset.name, preset.name)
            self.setItemData(self.count() - 1, preset.summary(), _TOOLTIP)
        self.blockSignals(False)
        self.select(chosen)

    def select(self, name: str | None) -> None:
        """Show `name` (a conversation's preset) without announcing a change; a preset that
        has since been deleted shows as the settings."""
        self.blockSignals(True)
        self.setCurrentIndex(max(0, self.findData(name)))
        self.blockSignals(False)

    def current(self) -> Preset | None:
        name = self.currentData()
        return self._known.get(name) if name else None

    def save_settings_as_preset(self, settings: Settings) -> Preset | None:
        """Ask for a name and save the settings' system prompt, sampling and preference as a
        preset; it becomes the current choice."""
        name, ok = QInputDialog.getText(self, "Save as preset", "Name of the new preset:")
        if not ok or not name.strip():
            return None
        try:
            preset = self.presets.save(
                Preset(
                    name=name,
                    description="saved from the settings",
                    system_prompt=settings.system_prompt,
                    temperature=settings.temperature,
                    top_p=settings.top_p,
                    max_tokens=settings.max_tokens,
                    preference=settings.preference(),
                )
            )
        except ValueError as error:
            QMessageBox.warning(self, "Preset not saved", str(error))
            return None
        self.refresh()
        self.setCurrentIndex(self.findData(preset.name))  # announced: the conversation takes it
        return preset
