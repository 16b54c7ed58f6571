"""One receipt's canonical JSON in a window of its own (an answer's receipt link opens it)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from bizra_desktop.core.receipts.chain import Receipt


def show_receipt(parent: QWidget, receipt_hash: str, receipt: Receipt | None) -> QPlainTextEdit:
    """`receipt` as found in the chain (None: not there, and the window says so)."""
    viewer = QPlainTextEdit()
    viewer.setReadOnly(True)
    viewer.setWindowTitle(f"Receipt #{receipt.seq}" if receipt else "Receipt not found")
    viewer.setPlainText(receipt.canonical_json() if receipt else receipt_hash)
    viewer.resize(640, 360)
    viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    viewer.setParent(parent, Qt.WindowType.Window)
    viewer.show()
    return viewer
