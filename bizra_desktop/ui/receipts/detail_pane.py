"""One receipt in full: its canonical JSON, and the prompt and answer it was made for."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from bizra_desktop.core.receipts.exchanges import Exchange
from bizra_desktop.core.receipts.query import ReceiptDetail
from bizra_desktop.core.receipts.record import ReceiptFormatError, ReceiptRecord
from bizra_desktop.ui import theme
from bizra_desktop.ui.accessibility import describe


class DetailPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select a receipt")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.reproduce = QLabel()  # what the receipt records for `bizra receipts replay`
        self.reproduce.setWordWrap(True)
        self.reproduce.setTextFormat(Qt.TextFormat.PlainText)
        self.reproduce.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.json = _text_box(monospace=True)
        self.json.setToolTip("The receipt's canonical JSON (RFC 8785): its hash is taken over it")
        self.conversation = QLabel()
        self.conversation.setWordWrap(True)
        self.prompt = _text_box()
        self.answer = _text_box()
        self.proof = QLabel()
        self.proof.setWordWrap(True)
        describe(self.json, "Canonical JSON", self.json.toolTip())
        describe(self.prompt, "Prompt", "The stored prompt this receipt commits to.")
        describe(self.answer, "Answer", "The stored answer this receipt commits to.")

        message = QWidget()
        message_layout = QVBoxLayout(message)
        message_layout.setContentsMargins(0, 0, 0, 0)
        message_layout.addWidget(self.conversation)
        message_layout.addWidget(QLabel("<b>Prompt</b>"))
        message_layout.addWidget(self.prompt, 1)
        message_layout.addWidget(QLabel("<b>Answer</b>"))
        message_layout.addWidget(self.answer, 2)
        message_layout.addWidget(self.proof)
        parts = QSplitter(Qt.Orientation.Vertical)
        parts.addWidget(self.json)
        parts.addWidget(message)
        parts.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.problem)
        layout.addWidget(self.reproduce)
        layout.addWidget(QLabel("<b>Canonical JSON</b>"))
        layout.addWidget(parts, 1)
        self.show_detail(None)

    def show_detail(self, detail: ReceiptDetail | None, broken: str | None = None) -> None:
        """`broken`: Verify's finding, when this is the first broken receipt."""
        if detail is None:
            self.title.setText("Select a receipt to see it in full")
            self._set_problem(None)
            self.reproduce.clear()
            self.json.clear()
            self._show_exchange(None, known=False)
            return
        self.title.setText(f"<b>Receipt #{detail.seq}</b><br><code>{detail.hash}</code>")
        self._set_problem(broken or detail.problem)
        receipt = detail.receipt
        self.json.setPlainText(receipt.canonical_json() if receipt is not None else "")
        self.reproduce.setText(reproducibility(receipt.body) if receipt is not None else "")
        self._show_exchange(detail.exchange, known=receipt is not None)

    def _set_problem(self, text: str | None) -> None:
        self.problem.setVisible(bool(text))
        self.problem.setText(
            f"<span style='color:{theme.current().error_text}'>{html.escape(text or '')}</span>"
        )

    def _show_exchange(self, exchange: Exchange | None, *, known: bool) -> None:
        self.prompt.setPlainText((exchange.prompt or "") if exchange else "")
        self.answer.setPlainText(exchange.response if exchange else "")
        if exchange is None:
            self.conversation.setText(
                "No stored message carries this receipt (its conversation was deleted, or the "
                "answer was regenerated)."
                if known
                else ""
            )
            self.proof.clear()
            return
        self.conversation.setText(
            f"<b>Message</b> in “{html.escape(exchange.title)}” "
            f"(conversation {exchange.conversation_id})"
        )
        if exchange.matches is None:
            self.proof.setText("No salt is stored for this receipt: the texts cannot be checked.")
        elif exchange.matches:
            self.proof.setText(
                f"<span style='color:{theme.current().good_text}'>✓ The prompt and answer "
                "reproduce the receipt's commitments.</span>"
            )
        else:
            self.proof.setText(
                f"<span style='color:{theme.current().error_text}'>✗ The stored texts do not "
                "reproduce the receipt's commitments: they were changed after the answer.</span>"
            )


def reproducibility(body: Mapping[str, Any]) -> str:
    """One line on what the receipt records to make its answer again (plain text)."""
    try:
        record = ReceiptRecord.from_body(body)
    except ReceiptFormatError as error:
        return f"Not an answer's receipt this app reads: {error}."
    gaps = record.replay_gaps()
    if gaps:
        return f"Receipt version {record.version}: it does not record {', '.join(gaps)}."
    parts = [f"Version {record.version}", f"seed {record.seed}"]
    if record.engine is not None:
        parts.append(f"llama-cpp-python {record.engine.llama_cpp_python}")
    if record.chat_template_sha256:
        parts.append(f"template {record.chat_template_sha256[:12]}…")
    if record.cached_tokens:
        parts.append(f"{record.cached_tokens} prompt tokens from the cache")
    if record.routing is not None and record.routing.override:
        parts.append(f"{record.routing.override} chosen by you")
    if record.parent_receipt:
        parts.append(f"from receipt {record.parent_receipt[:12]}…")
    return " · ".join(parts) + " — `bizra receipts replay` can make it again."


def _text_box(*, monospace: bool = False) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setReadOnly(True)
    if monospace:
        box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return box
