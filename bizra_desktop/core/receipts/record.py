"""The receipt record: the one definition of what an inference receipt's body holds.

The pipeline builds a `ReceiptRecord` and appends `to_body()`; readers parse a stored body
with `from_body()` instead of reaching into it by string keys. docs/RECEIPTS.md describes
every field.

Version 2 adds what is needed to make an answer again (`bizra receipts replay`): the app and
llama.cpp builds, the chat template's hash, a commitment to the system prompt and to the
earlier turns, the seed the sampler used, prompt-cache reuse, the routing, the finish reason
and the receipt this answer branched from. Version 1 bodies (no `version` key) still parse:
their version-2 fields read as None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from bizra_desktop.core.impact import impact_score
from bizra_desktop.core.receipts import canonical
from bizra_desktop.core.receipts.commitments import commit
from bizra_desktop.core.tiers import Complexity

RECEIPT_VERSION = 2
INFERENCE = "inference"  # the body's "type": the receipt of one answer

# What replay needs that a version 1 receipt does not say, in the words of its message.
V2_ONLY = (
    "the seed used",
    "the chat template",
    "the llama.cpp build",
    "the system prompt",
    "the earlier turns",
)

_T = TypeVar("_T")


class ReceiptFormatError(ValueError):
    """A stored body that is not an inference receipt of a version this app reads; str() says
    which field is wrong."""


@dataclass(frozen=True, kw_only=True)
class ModelIdentity:
    """The model that answered: a local file (name, file, sha256, stand_in) or a remote
    tier (name as its server gave it, endpoint)."""

    name: str
    file: str | None = None
    sha256: str | None = None  # of the whole model (every part of a split one, in order)
    stand_in: bool | None = None  # the built-in starter answered for a tier not installed
    endpoint: str | None = None

    def to_body(self) -> dict[str, Any]:
        # Only the keys that apply, so local and remote identities keep their version 1 shapes.
        fields = {
            "name": self.name,
            "file": self.file,
            "sha256": self.sha256,
            "stand_in": self.stand_in,
            "endpoint": self.endpoint,
        }
        return {key: value for key, value in fields.items() if value is not None}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ModelIdentity:
        return cls(
            name=_get(body, "name", str, "model.name"),
            file=_opt(body, "file", str, "model.file"),
            sha256=_opt(body, "sha256", str, "model.sha256"),
            stand_in=_opt(body, "stand_in", bool, "model.stand_in"),
            endpoint=_opt(body, "endpoint", str, "model.endpoint"),
        )


@dataclass(frozen=True, kw_only=True)
class Routing:
    """Why this model answered: the rating, and what changed the tier it led to."""

    score: float
    confidence: float
    preference: str  # quality, balanced or speed
    rated: str  # the tier the rating alone asks for
    wanted: str  # the tier asked for after a pin or learned escalations (see reasons)
    override: str | None  # "tier": the user's pick or "ask a bigger model"; "model": a file
    fallback: str | None  # why another tier than `wanted` answered
    reasons: tuple[str, ...]

    def to_body(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "confidence": self.confidence,
            "preference": self.preference,
            "rated": self.rated,
            "wanted": self.wanted,
            "override": self.override,
            "fallback": self.fallback,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Routing:
        reasons = _get(body, "reasons", list, "routing.reasons")
        if not all(isinstance(reason, str) for reason in reasons):
            raise ReceiptFormatError("routing.reasons holds something other than text")
        return cls(
            score=_number(body, "score", "routing.score"),
            confidence=_number(body, "confidence", "routing.confidence"),
            preference=_get(body, "preference", str, "routing.preference"),
            rated=_get(body, "rated", str, "routing.rated"),
            wanted=_get(body, "wanted", str, "routing.wanted"),
            override=_opt(body, "override", str, "routing.override"),
            fallback=_opt(body, "fallback", str, "routing.fallback"),
            reasons=tuple(reasons),
        )


@dataclass(frozen=True, kw_only=True)
class Engine:
    """The llama.cpp build that answered (engine/build.py)."""

    llama_cpp_python: str
    system_info: str  # llama.cpp's feature line: the kernels this CPU/GPU runs

    def to_body(self) -> dict[str, Any]:
        return {"llama_cpp_python": self.llama_cpp_python, "system_info": self.system_info}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Engine:
        return cls(
            llama_cpp_python=_get(body, "llama_cpp_python", str, "engine.llama_cpp_python"),
            system_info=_get(body, "system_info", str, "engine.system_info"),
        )


@dataclass(frozen=True, kw_only=True)
class ReceiptRecord:
    """One answer's receipt body, less what the chain adds (prev_hash, timestamp), which
    `from_body` reads back."""

    model: ModelIdentity
    tier: str
    complexity: str  # the rating's label: trivial … expert
    # Sampling as asked (seed None: drawn, see `seed`), n_ctx, and where the model ran.
    params: Mapping[str, Any]
    prompt_commitment: str
    response_commitment: str
    prompt_tokens: int
    completion_tokens: int
    ttft_ms: float
    tokens_per_s: float
    impact: float
    stopped: bool
    drafting: tuple[Mapping[str, Any], ...] = ()  # absent from the body when empty
    # Version 2; None in a version 1 receipt.
    version: int = RECEIPT_VERSION
    app_version: str | None = None
    engine: Engine | None = None  # None also for a remote tier
    chat_template_sha256: str | None = None  # None also for a model without a template
    system_prompt_commitment: str | None = None  # None also when there was no system prompt
    history_turns: int | None = None  # earlier turns sent with the prompt
    history_commitment: str | None = None  # None also when there were none
    seed: int | None = None  # the seed the sampler used (drawn when none was asked)
    cached_tokens: int | None = None  # prompt tokens taken from the KV cache, not decoded
    # The receipt of the answer whose decoding left that KV cache (the same model's previous
    # answer in the same host): a replay rebuilds the cache by replaying it first.
    cache_left_by: str | None = None
    routing: Routing | None = None
    finish_reason: str | None = None  # stop, length or stopped
    parent_receipt: str | None = None  # the answer this one regenerates or branches from
    # Written by the chain.
    prev_hash: str | None = None
    timestamp: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The fields to append (the chain adds prev_hash and timestamp)."""
        body: dict[str, Any] = {
            "type": INFERENCE,
            "model": self.model.to_body(),
            "tier": self.tier,
            "complexity": self.complexity,
            "params": dict(self.params),
            "prompt_commitment": self.prompt_commitment,
            "response_commitment": self.response_commitment,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "ttft_ms": self.ttft_ms,
            "tokens_per_s": self.tokens_per_s,
            "impact": self.impact,
            "stopped": self.stopped,
        }
        if self.drafting:  # only when a drafter ran: other answers keep the older shape
            body["drafting"] = [dict(entry) for entry in self.drafting]
        if self.version < RECEIPT_VERSION:
            return body
        return body | {
            "version": self.version,
            "app_version": self.app_version,
            "engine": self.engine.to_body() if self.engine else None,
            "chat_template_sha256": self.chat_template_sha256,
            "system_prompt_commitment": self.system_prompt_commitment,
            "history": {"turns": self.history_turns, "commitment": self.history_commitment},
            "seed": self.seed,
            "prompt_cache": {
                "reused": bool(self.cached_tokens),
                "tokens": self.cached_tokens,
                "left_by": self.cache_left_by,
            },
            "routing": self.routing.to_body() if self.routing else None,
            "finish_reason": self.finish_reason,
            "parent_receipt": self.parent_receipt,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ReceiptRecord:
        """The record of a stored inference receipt, version 1 or 2; ReceiptFormatError
        naming the field when it is something else."""
        if body.get("type") != INFERENCE:
            raise ReceiptFormatError(f"not an inference receipt (type {body.get('type')!r})")
        version = _opt(body, "version", int, "version") or 1
        if version not in (1, RECEIPT_VERSION):
            raise ReceiptFormatError(
                f"receipt version {version} is newer than this app reads ({RECEIPT_VERSION})"
            )
        tokens = _get(body, "tokens", dict, "tokens")
        drafting = _opt(body, "drafting", list, "drafting") or []
        if not all(isinstance(entry, dict) for entry in drafting):
            raise ReceiptFormatError("drafting holds something other than objects")
        record = cls(
            model=ModelIdentity.from_body(_get(body, "model", dict, "model")),
            tier=_get(body, "tier", str, "tier"),
            complexity=_get(body, "complexity", str, "complexity"),
            params=_get(body, "params", dict, "params"),
            prompt_commitment=_get(body, "prompt_commitment", str, "prompt_commitment"),
            response_commitment=_get(body, "response_commitment", str, "response_commitment"),
            prompt_tokens=_get(tokens, "prompt", int, "tokens.prompt"),
            completion_tokens=_get(tokens, "completion", int, "tokens.completion"),
            ttft_ms=_number(body, "ttft_ms", "ttft_ms"),
            tokens_per_s=_number(body, "tokens_per_s", "tokens_per_s"),
            impact=_number(body, "impact", "impact"),
            stopped=_get(body, "stopped", bool, "stopped"),
            drafting=tuple(drafting),
            version=version,
            prev_hash=_opt(body, "prev_hash", str, "prev_hash"),
            timestamp=_opt(body, "timestamp", str, "timestamp"),
        )
        return record if version == 1 else _with_v2_fields(record, body)

    @property
    def recomputed_impact(self) -> float | None:
        """The impact this receipt's own fields give (core/impact.py); None when its
        complexity is not one this app knows."""
        return recompute_impact(self.complexity, self.tokens_per_s, self.completion_tokens)

    @property
    def impact_agrees(self) -> bool:
        return impact_agrees(self.impact, self.recomputed_impact)

    def replay_gaps(self) -> tuple[str, ...]:
        """What this receipt does not record that an identical re-run needs; () for a
        version 2 receipt of a local model."""
        if self.version < RECEIPT_VERSION:
            return V2_ONLY
        if self.model.sha256 is None:
            return ("the model's SHA-256 (it answered on a remote server)",)
        return ()


@dataclass(frozen=True, kw_only=True)
class ImpactFields:
    """What the impact ledger reads of a receipt: the fields its impact is computed from, the
    impact it states, and where it is counted. Read from any inference body, whole or not."""

    tier: str
    complexity: str
    tokens_per_s: float
    completion_tokens: int
    stated: float
    timestamp: str | None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ImpactFields:
        if body.get("type") != INFERENCE:
            raise ReceiptFormatError(f"not an inference receipt (type {body.get('type')!r})")
        tokens = _get(body, "tokens", dict, "tokens")
        return cls(
            tier=_get(body, "tier", str, "tier"),
            complexity=_get(body, "complexity", str, "complexity"),
            tokens_per_s=_number(body, "tokens_per_s", "tokens_per_s"),
            completion_tokens=_get(tokens, "completion", int, "tokens.completion"),
            stated=_number(body, "impact", "impact"),
            timestamp=_opt(body, "timestamp", str, "timestamp"),
        )

    @property
    def recomputed(self) -> float | None:
        return recompute_impact(self.complexity, self.tokens_per_s, self.completion_tokens)


def recompute_impact(complexity: str, tokens_per_s: float, completion_tokens: int) -> float | None:
    """The impact core/impact.py gives these fields; None for a complexity this app does not
    know."""
    try:
        rating = Complexity.parse(complexity)
    except ValueError:
        return None
    return impact_score(rating, tokens_per_s, completion_tokens)


def impact_agrees(stated: float, recomputed: float | None) -> bool:
    # Both are rounded to 4 decimals; the tolerance only absorbs float noise.
    return recomputed is not None and abs(recomputed - stated) < 1e-9


def stated_commitments(body: Mapping[str, Any]) -> tuple[object, object]:
    """The (prompt, response) commitments a body states, None where absent: checks of stored
    texts read them from any body, a whole receipt or not (an export's, a damaged one)."""
    return body.get("prompt_commitment"), body.get("response_commitment")


def history_commitment(history: Sequence[Mapping[str, str]], salt: bytes) -> str | None:
    """A commitment to the earlier turns as they were sent (roles and texts, in order, as
    canonical JSON); None when there were none."""
    if not history:
        return None
    turns = [{"role": turn["role"], "content": turn["content"]} for turn in history]
    return commit(canonical.dumps(turns).decode("utf-8"), salt)


def _with_v2_fields(record: ReceiptRecord, body: Mapping[str, Any]) -> ReceiptRecord:
    history = _opt(body, "history", dict, "history") or {}
    cache = _opt(body, "prompt_cache", dict, "prompt_cache") or {}
    engine = _opt(body, "engine", dict, "engine")
    routing = _opt(body, "routing", dict, "routing")
    return replace(
        record,
        app_version=_opt(body, "app_version", str, "app_version"),
        engine=Engine.from_body(engine) if engine is not None else None,
        chat_template_sha256=_opt(body, "chat_template_sha256", str, "chat_template_sha256"),
        system_prompt_commitment=_opt(
            body, "system_prompt_commitment", str, "system_prompt_commitment"
        ),
        history_turns=_opt(history, "turns", int, "history.turns"),
        history_commitment=_opt(history, "commitment", str, "history.commitment"),
        seed=_opt(body, "seed", int, "seed"),
        cached_tokens=_opt(cache, "tokens", int, "prompt_cache.tokens"),
        cache_left_by=_opt(cache, "left_by", str, "prompt_cache.left_by"),
        routing=Routing.from_body(routing) if routing is not None else None,
        finish_reason=_opt(body, "finish_reason", str, "finish_reason"),
        parent_receipt=_opt(body, "parent_receipt", str, "parent_receipt"),
    )


def _get(body: Mapping[str, Any], key: str, kind: type[_T], name: str) -> _T:
    value = _opt(body, key, kind, name)
    if value is None:
        raise ReceiptFormatError(f"{name} is missing")
    return value


def _opt(body: Mapping[str, Any], key: str, kind: type[_T], name: str) -> _T | None:
    value = body.get(key)
    # bool is an int to Python, but a count or a version written as true is not a number.
    if value is None or (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))):
        return value
    raise ReceiptFormatError(f"{name} is {type(value).__name__}, not {kind.__name__}")


def _number(body: Mapping[str, Any], key: str, name: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReceiptFormatError(f"{name} is not a finite number")
    return float(value)
