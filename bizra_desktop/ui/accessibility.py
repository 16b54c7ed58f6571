"""Accessible names and descriptions: what a screen reader says for a control."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def describe(widget: QWidget, name: str, description: str) -> None:
    """Give `widget` the `name` a screen reader announces and the `description` it reads
    after it."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
