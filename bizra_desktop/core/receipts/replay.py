"""Make a receipt's answer again and say whether it is the same (`bizra receipts replay`).

A version 2 receipt records what an answer depends on: the model (its whole-file SHA-256), the
chat template's hash, the llama.cpp build, the sampling parameters with the seed the sampler
used, the context size and commitments to the system prompt and the earlier turns. Given the
texts (from the conversation store, or from the caller, checked against the commitments), the
recorded model answers again in a fresh inference host, without drafts (they change no token)
and without a KV cache to reuse, and the new answer is compared with the stored one, or with
the receipt's response commitment when only the salt is kept.

Whatever stops a faithful re-run is said in one line: a version 1 receipt, a remote model, a
model file no longer installed, texts not available, a system prompt unknown.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from bizra_desktop.core.conversations import lineage
from bizra_desktop.core.engine.host import InferenceHost
from bizra_desktop.core.engine.protocol import (
    GenerateRequest,
    GenerationDone,
    HostFailure,
    LoadSpec,
    ModelLoaded,
    SamplingParams,
    TokenText,
)
from bizra_desktop.core.exchanges import model_history
from bizra_desktop.core.hardware import memory_budget, physical_cores
from bizra_desktop.core.models.store import (
    ModelChangedError,
    ModelFile,
    ModelFileError,
    ModelHashCache,
    ModelStore,
    open_model,
)
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts.chain import ReceiptChain, hashes_starting
from bizra_desktop.core.receipts.commitments import commit
from bizra_desktop.core.receipts.exchanges import (
    exchange_for,
    has_conversations,
    messages_are_a_tree,
)
from bizra_desktop.core.receipts.record import (
    ReceiptFormatError,
    ReceiptRecord,
    history_commitment,
)

# The most earlier answers replayed to rebuild a KV cache (a long conversation's last answer
# reuses the cache its previous one left, which reused the one before, ...).
MAX_WARMUP = 64
_SAMPLING = frozenset(field.name for field in fields(SamplingParams))


class ReplayInputError(ValueError):
    """The request is wrong: no such receipt, or a text that is not the receipt's (exit 2)."""


class ReplayUnavailableError(Exception):
    """The receipt cannot be replayed here; str() says why in one line (exit 1)."""


@dataclass(frozen=True, kw_only=True)
class ReplayPlan:
    """Everything a re-run needs, checked against the receipt."""

    seq: int
    record: ReceiptRecord
    model: ModelFile
    messages: tuple[dict[str, str], ...]
    params: SamplingParams
    stored_answer: str | None  # None: only the commitment can tell (salt kept, text not)
    salt: bytes | None
    # Replays that first rebuild the KV cache this answer reused (oldest first), or why not.
    warmup: tuple[ReplayPlan, ...] = ()
    cache_notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ReplayResult:
    identical: bool
    answer: str
    completion_tokens: int
    notes: tuple[str, ...]  # what may explain a difference (another build, a reused cache)

    def describe(self, seq: int) -> str:
        verdict = (
            f"identical: the answer of receipt #{seq} was made again token for token"
            if self.identical
            else f"differs: the answer of receipt #{seq} came out differently this time"
        )
        return "; ".join([verdict, *self.notes])


def plan_replay(
    paths: DataPaths,
    chain: ReceiptChain,
    receipt_hash: str,
    *,
    prompt: str | None = None,
    system_prompt: str | None = None,
    system_candidates: Iterable[str] = (),
    _depth: int = 0,
) -> ReplayPlan:
    """The re-run of `receipt_hash` (a unique prefix of at least 8 hex digits will do).
    `prompt`/`system_prompt` replace the stored texts; `system_candidates` (the settings' and
    the presets' system prompts) are tried against the commitment when none is given."""
    receipt = chain.get(_full_hash(chain, receipt_hash))
    if receipt is None:
        raise ReplayInputError(f"there is no receipt {receipt_hash}")
    seq, body = receipt.seq, receipt.body
    try:
        record = ReceiptRecord.from_body(body)
    except ReceiptFormatError as error:
        raise ReplayUnavailableError(f"receipt #{seq} cannot be read: {error}") from None
    gaps = record.replay_gaps()
    if gaps:
        raise ReplayUnavailableError(
            f"receipt #{seq} is version {record.version}, which does not record "
            f"{', '.join(gaps)}; only receipts of version 2 can be replayed"
            if record.version < 2
            else f"receipt #{seq} does not record {gaps[0]}"
        )
    model = _model(paths, seq, record)  # first: without the model nothing else matters
    with chain.connection() as conn:
        salt, stored_prompt, stored_answer, history = _texts(conn, receipt.hash, body, record)
    prompt = _checked_prompt(seq, record, salt, prompt, stored_prompt)
    candidates = [*system_candidates, *([system_prompt] if system_prompt else [])]
    system = _system_prompt(seq, record, salt, system_prompt, candidates)
    if stored_answer is None and salt is None:
        raise ReplayUnavailableError(
            f"the answer of receipt #{seq} is not available to compare with: no conversation "
            "holds it and its salt is not kept"
        )
    warmup, cache_notes = _warmup(paths, chain, record, candidates, _depth)
    return ReplayPlan(
        seq=seq,
        record=record,
        model=model,
        messages=(
            *([{"role": "system", "content": system}] if system else []),
            *_checked_history(seq, record, salt, history),
            {"role": "user", "content": prompt},
        ),
        params=_params(record),
        stored_answer=stored_answer,
        salt=salt,
        warmup=warmup,
        cache_notes=cache_notes,
    )


def replay(plan: ReplayPlan, host: InferenceHost) -> ReplayResult:
    """Run the plan on `host` (a fresh one: no KV cache but the one its warm-up leaves) and
    compare the answers."""
    notes = list(plan.cache_notes)
    for earlier in plan.warmup:  # the answers whose decoding left the cache this one reused
        _run(earlier, host)
    if plan.warmup:
        seqs = ", ".join(f"#{earlier.seq}" for earlier in plan.warmup)
        notes.append(f"the KV cache it reused was rebuilt by replaying receipt {seqs} first")
    answer, done, build_notes = _run(plan, host)
    record = plan.record
    notes = build_notes + notes
    if plan.stored_answer is not None:
        identical = answer == plan.stored_answer
    else:
        assert plan.salt is not None  # plan_replay refuses a receipt with neither
        identical = commit(answer, plan.salt) == record.response_commitment
    if (record.cached_tokens or 0) != done.cached_tokens:
        notes.append(
            f"the original answer took {record.cached_tokens or 0} prompt tokens from the KV "
            f"cache and this one {done.cached_tokens}; llama.cpp's sums over a cached prefix "
            "and a fresh decode can round apart"
        )
    return ReplayResult(
        identical=identical,
        answer=answer,
        completion_tokens=done.completion_tokens,
        notes=tuple(notes),
    )


def _run(plan: ReplayPlan, host: InferenceHost) -> tuple[str, GenerationDone, list[str]]:
    """The plan's answer on `host`, its GenerationDone, and what differs in build/template."""
    record = plan.record
    n_ctx = _int_param(record, "n_ctx") or 4096
    gpu_device = _int_param(record, "gpu_device")
    spec = LoadSpec(
        model_path=str(plan.model.path),
        n_ctx=n_ctx,
        n_threads=physical_cores(),
        n_gpu_layers=_int_param(record, "n_gpu_layers"),  # where it ran: 0 on the CPU
        vram_free=memory_budget(gpu_device).vram_free,
        memory_needed=plan.model.memory_needed(n_ctx),
        n_layers=plan.model.header.arch_int("block_count"),
        gpu_device=gpu_device,
        flash_attn=record.params.get("flash_attn") is not False,
    )
    pieces: list[str] = []
    notes: list[str] = []
    done: GenerationDone | None = None
    request = GenerateRequest(job_id=0, load=spec, messages=plan.messages, params=plan.params)
    for event in host.generate(request):
        if isinstance(event, ModelLoaded):
            notes += _build_notes(record, event)
        elif isinstance(event, TokenText):
            pieces.append(event.text)
        elif isinstance(event, HostFailure):
            raise ReplayUnavailableError(f"{plan.model.name} failed: {event.message}")
        elif isinstance(event, GenerationDone):
            done = event
    assert done is not None, "the host ends every request with GenerationDone or HostFailure"
    return "".join(pieces), done, notes


def _warmup(
    paths: DataPaths,
    chain: ReceiptChain,
    record: ReceiptRecord,
    system_candidates: Sequence[str],
    depth: int,
) -> tuple[tuple[ReplayPlan, ...], tuple[str, ...]]:
    """The replays that rebuild the KV cache `record` reused, oldest first, or why they
    cannot (then it runs on a fresh cache, and may come out otherwise)."""
    left_by = record.cache_left_by
    if not record.cached_tokens or left_by is None:
        return (), ()
    if depth >= MAX_WARMUP:
        return (), (f"the KV cache it reused goes back more than {MAX_WARMUP} answers",)
    try:
        earlier = plan_replay(
            paths, chain, left_by, system_candidates=system_candidates, _depth=depth + 1
        )
    except (ReplayInputError, ReplayUnavailableError) as error:
        return (), (f"the KV cache it reused cannot be rebuilt ({error})",)
    return (*earlier.warmup, replace(earlier, warmup=())), earlier.cache_notes


def _full_hash(chain: ReceiptChain, wanted: str) -> str:
    """The one receipt hash that starts with `wanted` (at least 8 hex digits)."""
    wanted = wanted.strip().lower()
    if len(wanted) < 8 or any(char not in "0123456789abcdef" for char in wanted):
        raise ReplayInputError(f"{wanted!r} is not a receipt hash (8 to 64 hex digits)")
    with chain.connection() as conn:
        found = hashes_starting(conn, wanted)
    if len(found) > 1:
        raise ReplayInputError(f"more than one receipt starts with {wanted}: give more digits")
    return found[0] if found else wanted


def _texts(
    conn: sqlite3.Connection, receipt_hash: str, body: Mapping[str, Any], record: ReceiptRecord
) -> tuple[bytes | None, str | None, str | None, list[dict[str, str]] | None]:
    """The salt, the stored prompt and answer that prove the receipt (None if none do), and
    the turns before the prompt in its conversation (None without a conversation)."""
    row = conn.execute(
        "SELECT salt FROM commitment_salts WHERE receipt_hash = ?", (receipt_hash,)
    ).fetchone()
    salt = bytes(row[0]) if row else None
    exchange = exchange_for(conn, receipt_hash, body)
    if exchange is None or exchange.matches is False:
        return salt, None, None, None
    return salt, exchange.prompt, exchange.response, _earlier_turns(conn, receipt_hash)


def _earlier_turns(conn: sqlite3.Connection, receipt_hash: str) -> list[dict[str, str]] | None:
    """The prompts and answers before the answer's prompt, oldest first, as the pipeline sends
    them: along the answer's branch in a conversation stored as a tree, else every one before
    it (the caller checks them against the receipt's history commitment)."""
    if not has_conversations(conn):
        return None
    row = conn.execute(
        "SELECT conversation_id, id FROM messages WHERE receipt_hash = ? AND role = 'assistant' "
        "ORDER BY id LIMIT 1",
        (receipt_hash,),
    ).fetchone()
    if row is None:
        return None
    conversation_id, answer_id = row
    if messages_are_a_tree(conn):
        return list(model_history(lineage(conn, answer_id)[:-2]))  # without the prompt, answer
    rows = conn.execute(
        "SELECT role, content FROM messages WHERE conversation_id = ? AND id < ? ORDER BY id",
        (conversation_id, answer_id),
    ).fetchall()
    prompts = [i for i, (role, _) in enumerate(rows) if role == "user"]
    rows = rows[: prompts[-1]] if prompts else rows  # up to the answer's prompt
    return [
        {"role": str(role), "content": str(content)}
        for role, content in rows
        if role in ("user", "assistant") and content
    ]


def _checked_prompt(
    seq: int, record: ReceiptRecord, salt: bytes | None, given: str | None, stored: str | None
) -> str:
    if given is None:
        if stored is None:
            raise ReplayUnavailableError(
                f"the prompt of receipt #{seq} is not available: no conversation holds it "
                "(give it with --prompt, or - for standard input)"
            )
        return stored
    if salt is not None and commit(given, salt) != record.prompt_commitment:
        raise ReplayInputError(f"the prompt given is not the one receipt #{seq} was made for")
    return given


def _system_prompt(
    seq: int,
    record: ReceiptRecord,
    salt: bytes | None,
    given: str | None,
    candidates: Iterable[str],
) -> str:
    wanted = record.system_prompt_commitment
    if wanted is None:
        if given:
            raise ReplayInputError(f"receipt #{seq} was answered without a system prompt")
        return ""
    if salt is None:
        if given is None:
            raise ReplayUnavailableError(
                f"receipt #{seq} had a system prompt, and without its salt it cannot be "
                "recognised: give it with --system"
            )
        return given
    if given is not None:
        if commit(given, salt) != wanted:
            raise ReplayInputError(f"the system prompt given is not the one of receipt #{seq}")
        return given
    for candidate in candidates:
        if candidate and commit(candidate, salt) == wanted:
            return candidate
    raise ReplayUnavailableError(
        f"the system prompt of receipt #{seq} is neither the one in Settings nor a preset's "
        "(it was changed since): give it with --system"
    )


def _checked_history(
    seq: int, record: ReceiptRecord, salt: bytes | None, history: list[dict[str, str]] | None
) -> Sequence[dict[str, str]]:
    if not record.history_turns:
        return ()
    if (
        history is not None
        and salt is not None
        and history_commitment(history, salt) == record.history_commitment
    ):
        return history
    raise ReplayUnavailableError(
        f"the {record.history_turns} earlier turns receipt #{seq} was answered with are not "
        "available as they were sent (the conversation was edited or deleted)"
    )


def _model(paths: DataPaths, seq: int, record: ReceiptRecord) -> ModelFile:
    """The installed model whose whole-file SHA-256 is the receipt's: tiers, the starter and
    other GGUF files in the models folder, the file of the receipt's name first."""
    wanted = record.model.sha256
    hashes = ModelHashCache.of_folder(paths.models)
    for model in sorted(_candidates(paths), key=lambda m: m.path.name != record.model.file):
        try:
            if hashes.sha256(model) == wanted:
                return model
        except (ModelChangedError, OSError):
            continue  # removed or replaced while we looked: not the one
    raise ReplayUnavailableError(
        f"the model of receipt #{seq} is not installed: no model file here has SHA-256 "
        f"{wanted} ({record.model.file or record.model.name} when it answered)"
    )


def _candidates(paths: DataPaths) -> Iterator[ModelFile]:
    store = ModelStore(paths.models)
    yield from store.installed().values()
    starter = store.starter()
    if starter is not None:
        yield starter
    for path in sorted(paths.models.glob("*.gguf")) if paths.models.is_dir() else ():
        try:
            yield open_model(path)
        except ModelFileError:
            continue  # a partial download, a second part of a split model


def _params(record: ReceiptRecord) -> SamplingParams:
    """The sampling of the receipt with the seed it used. A stopped answer is made again up to
    the tokens it had, where the user stopped it."""
    sampling = {key: value for key, value in record.params.items() if key in _SAMPLING}
    sampling["stop"] = tuple(sampling.get("stop") or ())
    sampling["seed"] = record.seed
    if record.stopped:
        sampling["max_tokens"] = record.completion_tokens
    try:
        return SamplingParams(**sampling)
    except TypeError as error:  # a field of another type than this app writes
        raise ReplayUnavailableError(f"the receipt's parameters cannot be used: {error}") from None


def _int_param(record: ReceiptRecord, key: str) -> int | None:
    value = record.params.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _build_notes(record: ReceiptRecord, loaded: ModelLoaded) -> list[str]:
    """What differs between the build and template that answered and those answering now."""
    notes = []
    engine = record.engine
    if engine is not None and engine.llama_cpp_python != loaded.engine_version:
        notes.append(
            f"a different llama.cpp build answers now (llama-cpp-python {loaded.engine_version}, "
            f"the receipt's {engine.llama_cpp_python}), so the same answer is not guaranteed"
        )
    elif engine is not None and engine.system_info != loaded.system_info:
        notes.append(
            "llama.cpp runs other CPU/GPU kernels here than where the receipt was made "
            f"({loaded.system_info} vs {engine.system_info}), so the same answer is not guaranteed"
        )
    if record.chat_template_sha256 != loaded.chat_template_sha256:
        notes.append("the model's chat template is not the one the receipt records")
    return notes
