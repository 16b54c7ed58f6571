"""Accessible names and descriptions: what a screen reader says for a control."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QToolButton, QWidget


def describe(widget: QWidget, name: str, description: str) -> None:
    """Give `widget` the `name` a screen reader announces and the `description` it reads
    after it. A line edit's clear button is named after the edit."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
    if isinstance(widget, QLineEdit) and widget.isClearButtonEnabled():
        for button in widget.findChildren(QToolButton):
            button.setAccessibleName(f"Clear {name.lower()}")
            button.setAccessibleDescription(f"Empty the {name.lower()} box.")
