"""Chat completion bodies in OpenAI's wire format, with BIZRA's routing and receipt beside them.

The extra `bizra` field (`receipt_hash`, `tier`, `complexity`, `model`, `reasons` and the
answer's figures) rides on the completion and on the stream's closing chunks; OpenAI clients
keep unknown fields (the Python client as `model_extra`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from bizra_desktop.core.engine.protocol import FinishReason
from bizra_desktop.core.pipeline import Finished


def bizra_extra(finished: Finished) -> dict[str, Any]:
    """The receipt hash and the routing, as the GUI stores them beside an answer."""
    return {"receipt_hash": finished.receipt.hash, **finished.message_meta()}


def usage(finished: Finished) -> dict[str, int]:
    stats = finished.stats
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "total_tokens": stats.prompt_tokens + stats.completion_tokens,
    }


def finish_reason(finished: Finished) -> str:
    # OpenAI has no "stopped": an answer someone stopped ended early, as at a stop sequence.
    return "length" if finished.stats.finish_reason is FinishReason.LENGTH else "stop"


def _new_id() -> str:
    return f"chatcmpl-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class CompletionFrame:
    """What every body of one completion repeats: its id, creation time and model."""

    model: str
    id: str = field(default_factory=_new_id)
    created: int = field(default_factory=lambda: int(time.time()))

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def completion(self, finished: Finished) -> dict[str, Any]:
        """The whole answer, for a request without streaming."""
        return {
            **self._envelope("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": finished.text},
                    "finish_reason": finish_reason(finished),
                    "logprobs": None,
                }
            ],
            "usage": usage(finished),
            "bizra": bizra_extra(finished),
        }

    def chunk(self, delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        return {
            **self._envelope("chat.completion.chunk"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    def closing_chunks(self, finished: Finished, include_usage: bool) -> list[dict[str, Any]]:
        """The finish_reason chunk, and with include_usage OpenAI's extra chunk of token counts
        (no choices); each carries `bizra`, so the last chunk before [DONE] always has it."""
        extra = {"bizra": bizra_extra(finished)}
        chunks = [{**self.chunk({}, finish_reason(finished)), **extra}]
        if include_usage:
            envelope = self._envelope("chat.completion.chunk")
            chunks.append({**envelope, "choices": [], "usage": usage(finished), **extra})
        return chunks
