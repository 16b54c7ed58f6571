"""The "< 2/3 >" switch on a message that has other versions (drawn with single angle
quotation marks): the other answers to its prompt, or the other versions of an edited prompt,
each the start of its own branch."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from bizra_desktop.core.conversations import Variants
from bizra_desktop.ui.accessibility import describe


class VariantSwitch(QWidget):
    """Hidden while a message has no other version; `step` asks for the one before (-1) or
    after (+1)."""

    step = Signal(int)

    def __init__(self, what: str) -> None:
        """`what`: the versions' name for a screen reader ("answer", "prompt")."""
        super().__init__()
        self.previous = QPushButton("\u2039")  # single angle quotation marks
        self.label = QLabel()
        self.next = QPushButton("\u203a")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for widget in (self.previous, self.label, self.next):
            layout.addWidget(widget)
        for button in (self.previous, self.next):
            button.setFlat(True)
        describe(self.previous, f"Previous {what}", f"Show the {what} before this one.")
        describe(self.next, f"Next {what}", f"Show the {what} after this one.")
        self.previous.clicked.connect(lambda: self.step.emit(-1))
        self.next.clicked.connect(lambda: self.step.emit(1))
        self._what = what
        self.show_variants(None)

    def show_variants(self, variants: Variants | None) -> None:
        many = variants is not None and len(variants.ids) > 1
        self.setVisible(many)
        if variants is None or not many:
            return
        self.label.setText(variants.label)
        self.label.setAccessibleName(f"{self._what.capitalize()} {variants.label}")
        self.previous.setEnabled(variants.index > 0)
        self.next.setEnabled(variants.index < len(variants.ids) - 1)
