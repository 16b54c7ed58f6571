"""The open conversation's messages as the chat controller keeps them: typed records in a list,
the one place the window reads a message's text, routing and figures from."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from bizra_desktop.core.conversations import Message, Variants
from bizra_desktop.core.tiers import Tier


@dataclass(frozen=True, kw_only=True)
class ChatMessage:
    """A prompt, an answer or an inline error; `id` is None until the store has it."""

    role: str
    text: str
    receipt_hash: str | None = None
    # An answer's routing and figures (Finished.message_meta()); an error's prompt and kind.
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    id: int | None = None
    variants: Variants | None = None  # the message among its other versions, when stored

    @classmethod
    def stored(cls, message: Message, variants: Variants | None = None) -> ChatMessage:
        return cls(
            role=message.role,
            text=message.content,
            receipt_hash=message.receipt_hash,
            meta=message.meta,
            id=message.id,
            variants=variants,
        )

    def with_id(self, message_id: int) -> ChatMessage:
        return replace(self, id=message_id)

    @property
    def tier(self) -> Tier | None:
        """The tier that answered (None for a prompt, an error or an answer from before tiers)."""
        name = self.meta.get("tier")
        return Tier.parse(name) if isinstance(name, str) else None

    def figures_html(self) -> str:
        """An answer's footer: tokens, speeds, where it ran, a link to its receipt."""
        meta = self.meta
        if self.receipt_hash is None or "tokens" not in meta:
            return ""
        figures = (
            f"{meta['tokens']} tokens · TTFT {meta['ttft_ms']:.0f} ms · "
            f"{meta['tokens_per_s']:.1f} tok/s · {html.escape(str(meta.get('backend', '')))} · "
            f"<a href='receipt:{self.receipt_hash}'>receipt {self.receipt_hash[:12]}…</a>"
        )
        if meta.get("finish_reason") == "stopped":
            figures += " · stopped by you"
        if meta.get("note"):
            figures += f"<br><i>{html.escape(str(meta['note']))}</i>"
        return figures


def last_exchange(messages: Sequence[ChatMessage]) -> tuple[int, ChatMessage | None] | None:
    """The index of the last prompt and the answer (or error) after it, if any."""
    prompts = [i for i, message in enumerate(messages) if message.role == "user"]
    if not prompts:
        return None
    after = messages[prompts[-1] + 1 :]
    return prompts[-1], (after[-1] if after else None)
