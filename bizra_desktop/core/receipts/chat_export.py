"""Write a conversation as a file (Markdown, HTML or JSON) that `bizra receipts verify` checks
offline: the document of chat_document.py, rendered by chat_render.py."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.chat_document import FORMAT_NAMES, answer_checks, chat_document
from bizra_desktop.core.receipts.chat_render import render
from bizra_desktop.core.receipts.verification import plural
from bizra_desktop.core.text import printable

SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}


@dataclass(frozen=True, kw_only=True)
class ChatExportSummary:
    title: str
    fmt: str
    messages: int
    answers: int  # answers that name a receipt
    proven: int  # of those, the ones whose texts the bundled receipt proves

    def describe(self, out: Path) -> str:
        text = (
            # printable: a title may hold a terminal escape, and this line goes to a console
            f"exported “{printable(self.title)}” ({plural(self.messages, 'message')}, "
            f"{plural(self.proven, 'answer')} proven by bundled receipts) to {out} as "
            f"{FORMAT_NAMES[self.fmt]}; `bizra receipts verify {out}` checks it offline"
        )
        unproven = self.answers - self.proven
        if unproven:
            text += (
                f"; warning: {plural(unproven, 'answer')} no longer match their receipts (edited "
                "in the database), so the export will not verify"
            )
        return text


def format_for(out: Path, fmt: str | None) -> str:
    """The format asked for, or the one OUT's suffix names; ValueError if neither."""
    if fmt is not None:
        if fmt not in FORMAT_NAMES:
            raise ValueError(f"unknown export format {fmt!r}; expected md, html or json")
        return fmt
    found = SUFFIXES.get(out.suffix.lower())
    if found is None:
        raise ValueError(f"say --format md, html or json: {out.name} does not end in one")
    return found


def export_chat(
    chain: ReceiptChain, store: ConversationStore, conversation_id: int, out: Path, fmt: str
) -> ChatExportSummary:
    """Write the conversation to `out` in `fmt` (md, html, json); `out` appears whole or not
    at all (via OUT.part). ExportError says why nothing was written; OSError if writing fails."""
    document = chat_document(chain, store, conversation_id)
    data = render(document, fmt)
    partial = out.with_name(out.name + ".part")
    try:
        with partial.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    checks = answer_checks(document).values()
    return ChatExportSummary(
        title=document["conversation"]["title"],
        fmt=fmt,
        messages=len(document["messages"]),
        answers=len(checks),
        proven=sum(problem is None for problem in checks),
    )
