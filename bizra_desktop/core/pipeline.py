"""One prompt's path: analysis → tier → llama.cpp → receipt, as a generator of typed events.

The GUI worker, the command line and the benchmark all iterate `Pipeline.run()`; none of them
has a path of its own.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bizra_desktop import __version__
from bizra_desktop.core import placement
from bizra_desktop.core.analyzer import Analysis, TaskAnalyzer
from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.engine.host import InferenceHost
from bizra_desktop.core.engine.protocol import (
    DraftStats,
    FailureKind,
    FinishReason,
    GenerateRequest,
    GenerationDone,
    HostFailure,
    LoadSpec,
    ModelLoaded,
    ModelLoading,
    SamplingParams,
    TokenText,
)
from bizra_desktop.core.exchanges import ExchangeWriter, SaveTo, Stored
from bizra_desktop.core.feedback import EscalationMemory
from bizra_desktop.core.hardware import (
    MemoryBudget,
    memory_budget,
    physical_cores,
)
from bizra_desktop.core.impact import impact_score
from bizra_desktop.core.models.store import (
    FileStamps,
    ModelChangedError,
    ModelFile,
    ModelHashCache,
    ModelStore,
    model_stamps,
    open_model,
)
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts.chain import Receipt, ReceiptChain, ReceiptStoreError
from bizra_desktop.core.receipts.commitments import commit, new_salt
from bizra_desktop.core.receipts.record import (
    Engine,
    ModelIdentity,
    ReceiptRecord,
    Routing,
    history_commitment,
)
from bizra_desktop.core.remote import (
    RemoteClient,
    RemoteDelta,
    RemoteEndpoint,
    RemoteError,
    RemoteUnavailableError,
    load_remote_tiers,
)
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.selector import AdaptiveSelector, NoModelError, RoutingDecision
from bizra_desktop.core.tiers import TIER_FOR_COMPLEXITY, Tier

DEFAULT_N_CTX = 4096
_QUOTED = re.compile(r"\s*\([^)]*\)|\s*'[^']*'|\s*\"[^\"]*\"")


class PromptError(ValueError):
    """A prompt that cannot be sent to a model; str() says why in one line."""


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    pin: Tier | None = None  # None: automatic routing
    model_path: Path | None = None  # run this file instead of the routed tier's model
    params: SamplingParams = field(default_factory=SamplingParams)
    n_ctx: int = DEFAULT_N_CTX
    history: tuple[dict[str, str], ...] = ()  # earlier turns, oldest first
    system_prompt: str = ""  # empty: the model's own default
    n_threads: int = 0  # 0: up to one per physical core, fewer while others take cores
    n_gpu_layers: int | None = None  # None: everything when it fits in VRAM, else CPU
    gpu_device: int | None = None  # None: every GPU; an index as nvidia-smi numbers them
    flash_attn: bool = True
    preference: Preference = Preference.BALANCED  # quality ↔ speed, for automatic routing
    # Speculative decoding (engine/drafts.py); neither changes an answer, only its speed.
    draft_model: bool = True  # a smaller installed tier drafts for a larger one
    prompt_lookup: bool = False  # the answer's guesses from text the prompt quotes
    # The conversation the prompt and answer are stored in (core/exchanges.py); given by id,
    # its stored turns are the history, and `history` stays empty. None: the texts are not kept.
    save_to: SaveTo | None = None
    # The receipt of the answer this one regenerates or branches from (edit, regenerate).
    parent_receipt: str | None = None


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routed:
    analysis: Analysis
    decision: RoutingDecision


@dataclass(frozen=True)
class Loading:
    model_name: str


def describe_runtime(
    backend: str, n_gpu_layers: int, gpu_device: int | None, gpu_fallback: str | None
) -> str:
    """Where a model runs, for its badge: "CPU", "CUDA · all layers · GPU 1", ..."""
    if not n_gpu_layers:
        return f"{backend} (GPU load failed)" if gpu_fallback else backend
    layers = "all layers" if n_gpu_layers < 0 else f"{n_gpu_layers} layers, the rest on the CPU"
    return " · ".join([backend, layers, *([f"GPU {gpu_device}"] if gpu_device is not None else [])])


@dataclass(frozen=True)
class Loaded:
    backend: str
    n_gpu_layers: int
    load_ms: float
    reused: bool
    gpu_fallback: str | None  # why the model runs on the CPU after a failed GPU load
    gpu_device: int | None = None  # the one GPU it runs on; None: every GPU, or the CPU

    @property
    def runtime(self) -> str:
        return describe_runtime(self.backend, self.n_gpu_layers, self.gpu_device, self.gpu_fallback)


@dataclass(frozen=True)
class Token:
    text: str
    tokens: int  # generated tokens this text stands for
    tokens_per_s: float  # live decode speed so far (0 until the second token)


@dataclass(frozen=True)
class InferenceStats:
    prompt_tokens: int
    completion_tokens: int
    ttft_ms: float
    tokens_per_s: float
    load_ms: float
    backend: str
    n_gpu_layers: int
    finish_reason: FinishReason
    gpu_fallback: str | None
    gpu_device: int | None = None
    drafting: tuple[DraftStats, ...] = ()  # each drafter's drafted and accepted tokens

    @property
    def runtime(self) -> str:
        return describe_runtime(self.backend, self.n_gpu_layers, self.gpu_device, self.gpu_fallback)


@dataclass(frozen=True)
class Finished:
    text: str
    analysis: Analysis
    decision: RoutingDecision
    stats: InferenceStats
    impact: float
    receipt: Receipt
    note: str | None

    @property
    def stopped(self) -> bool:
        """Stopped by its caller mid-answer: the text so far, with its receipt."""
        return self.stats.finish_reason is FinishReason.STOPPED

    def message_meta(self) -> dict[str, Any]:
        """What a stored answer keeps of its routing and figures (conversations, export)."""
        return answer_meta(self.analysis, self.decision, self.stats, self.note)


def answer_meta(
    analysis: Analysis, decision: RoutingDecision, stats: InferenceStats, note: str | None
) -> dict[str, Any]:
    """What a stored answer keeps of its routing and figures (conversations, export)."""
    return {
        "complexity": decision.complexity.label,
        "score": analysis.score,
        "confidence": analysis.confidence,
        "preference": analysis.preference.value,
        "tier": decision.tier.name,
        "model": decision.model.name,
        "stand_in": decision.stand_in,
        "reasons": [*analysis.reasons, *decision.reasons],
        "kind": prompt_kind(analysis),
        "tokens": stats.completion_tokens,
        "ttft_ms": stats.ttft_ms,
        "tokens_per_s": stats.tokens_per_s,
        "backend": stats.backend,
        "runtime": stats.runtime,
        "finish_reason": stats.finish_reason.value,
        "note": note,
    }


@dataclass(frozen=True)
class Failed:
    """How every run that ends without an answer ends: Run.events() raises for none of them."""

    kind: FailureKind
    message: str

    @property
    def stopped(self) -> bool:
        """Stopped by its caller before an answer began (a stop mid-answer ends in Finished)."""
        return self.kind is FailureKind.CANCELLED


PipelineEvent = Stored | Routed | Loading | Loaded | Token | Finished | Failed


def prompt_kind(analysis: Analysis) -> str:
    """What escalation feedback groups prompts by: their rating and decisive signal."""
    decisive = analysis.reasons[0] if analysis.reasons else "general"
    return f"{analysis.complexity.label}: {_QUOTED.sub('', decisive).strip()}"


def clean_prompt(prompt: str) -> str:
    """The text a model can take: no NUL bytes, no lone surrogates; PromptError if empty."""
    text = prompt.replace("\x00", "").encode("utf-8", errors="replace").decode("utf-8")
    if not text.strip():
        raise PromptError("the prompt is empty")
    return text


class _Clock:
    """Time to first token and decode speed, as the caller sees them."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.last = self.started
        self.tokens = 0
        self.first_tokens = 0

    def restart(self) -> None:
        self.started = time.perf_counter()

    def tick(self, tokens: int) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first, self.first_tokens = now, tokens
        self.last = now
        self.tokens += tokens

    @property
    def ttft_ms(self) -> float:
        return 0.0 if self.first is None else (self.first - self.started) * 1000

    @property
    def tokens_per_s(self) -> float:
        # Decode speed: tokens after the first over the time after it; TTFT is reported apart.
        if self.first is None or self.last <= self.first:
            return 0.0
        return (self.tokens - self.first_tokens) / (self.last - self.first)


@dataclass
class _Turn:
    """One prompt's generation as it happens."""

    prompt: str
    options: RunOptions
    analysis: Analysis
    decision: RoutingDecision  # may change: a remote tier that is down falls back locally
    budget: MemoryBudget  # free memory when the prompt came, and the GPU the model may use
    clock: _Clock = field(default_factory=_Clock)
    pieces: list[str] = field(default_factory=list)
    loaded: ModelLoaded | None = None
    notes: list[str] = field(default_factory=list)
    server_model: str | None = None  # a remote tier's model, as its server names it
    writer: ExchangeWriter | None = None  # where the answer is stored; None: nowhere
    model_stamps: FileStamps | None = None  # a local model's files as the host was given them

    def start(self, loaded: ModelLoaded) -> Loaded:
        self.loaded = loaded
        self.clock.restart()
        on_one_gpu = self.budget.gpu_device if loaded.n_gpu_layers else None
        return Loaded(
            loaded.backend,
            loaded.n_gpu_layers,
            loaded.load_ms,
            loaded.reused,
            loaded.gpu_fallback,
            on_one_gpu,
        )

    def token(self, text: str, tokens: int) -> Token:
        self.clock.tick(tokens)
        self.pieces.append(text)
        return Token(text, tokens, self.clock.tokens_per_s)

    @property
    def answer(self) -> str:
        return "".join(self.pieces)


class Pipeline:
    def __init__(
        self,
        paths: DataPaths,
        *,
        host: InferenceHost | None = None,
        analyzer: TaskAnalyzer | None = None,
        feedback: EscalationMemory | None = None,
    ) -> None:
        self.paths = paths.ensure()
        self.host = host or InferenceHost()
        self.analyzer = analyzer or TaskAnalyzer()
        self.store = ModelStore(paths.models)
        self.hashes = ModelHashCache.of_folder(paths.models)
        self.feedback = feedback
        self.remote = RemoteClient()
        self._turn = threading.Lock()
        self._chain: ReceiptChain | None = None
        # Per model file, the receipt of its latest answer: the host's KV cache holds its
        # tokens, and the next answer that reuses them names it (receipts replay rebuilds it).
        self._kv_left_by: dict[Path, str] = {}
        self._conversations: ConversationStore | None = None
        self._opening = threading.Lock()  # runs open the conversation store from their threads

    @property
    def chain(self) -> ReceiptChain:
        if self._chain is None:
            self._chain = ReceiptChain(self.paths.database)
        return self._chain

    def selector(
        self, options: RunOptions, budget: MemoryBudget | None = None, include_remote: bool = True
    ) -> AdaptiveSelector:
        installed: dict[Tier, ModelFile | RemoteEndpoint] = {**self.store.installed()}
        if include_remote:  # a tier pointed at a server is answered there
            installed.update(load_remote_tiers(self.paths.remote_tiers))
        return AdaptiveSelector(
            installed,
            self.store.starter(),
            budget or memory_budget(options.gpu_device),
            options.n_ctx,
        )

    def route(
        self, prompt: str, options: RunOptions, selector: AdaptiveSelector | None = None
    ) -> tuple[Analysis, RoutingDecision]:
        """Analysis and routing only; no model runs. Raises ModelFileError for a bad --model."""
        analysis = self.analyzer.analyze(prompt, options.preference)
        boost: tuple[int, str | None] = (0, None)
        if self.feedback is not None and options.pin is None:
            boost = self.feedback.boost(prompt_kind(analysis))
        decision = (selector or self.selector(options)).select(analysis, options.pin, boost)
        if options.model_path is not None:
            chosen = open_model(options.model_path, decision.tier)
            decision = RoutingDecision(
                complexity=decision.complexity,
                wanted=decision.wanted,
                tier=decision.tier,
                model=chosen,
                pinned=True,
                fallback=None,
                reasons=(*decision.reasons[:1], f"model file chosen by you: {chosen.path.name}"),
            )
        return analysis, decision

    def start(self, prompt: str, options: RunOptions | None = None) -> Run:
        """One prompt's run: iterate `Run.events()`; `Run.stop()` stops this run only.
        ValueError if `options` sets both history and a save_to with a conversation id (the
        stored turns are the history)."""
        options = options or RunOptions()
        save_to = options.save_to
        if save_to is not None and save_to.conversation_id is not None and options.history:
            raise ValueError("a run saved to a conversation takes its history from it")
        return Run(self, prompt, options)

    def run(self, prompt: str, options: RunOptions | None = None) -> Iterator[PipelineEvent]:
        """The events of one prompt. Runs from several threads (the window, the local API)
        take turns: one host answers one prompt at a time."""
        return self.start(prompt, options).events()

    def _run(
        self, prompt: str, options: RunOptions, writer: ExchangeWriter | None
    ) -> Iterator[PipelineEvent]:
        # Read once a prompt, for routing and loading alike: nvidia-smi is a process start.
        budget = memory_budget(options.gpu_device)
        try:
            text = clean_prompt(prompt)
            analysis, decision = self.route(text, options, self.selector(options, budget))
        except ValueError as error:  # PromptError, ModelFileError, GGUFError
            yield Failed(FailureKind.BAD_INPUT, str(error))
            return
        except NoModelError as error:
            yield Failed(FailureKind.NO_MODEL, str(error))
            return
        yield Routed(analysis, decision)
        turn = _Turn(text, options, analysis, decision, budget, writer=writer)
        yield from self._generate(turn)

    def _generate(self, turn: _Turn) -> Iterator[PipelineEvent]:
        options, decision = turn.options, turn.decision
        system = (
            [{"role": "system", "content": options.system_prompt}] if options.system_prompt else []
        )
        messages = (*system, *options.history, {"role": "user", "content": turn.prompt})
        if isinstance(decision.model, RemoteEndpoint):
            events = self._remote_events(turn, decision.model, messages)
        else:
            events = self._local_events(turn, decision.model, messages)
        for event in events:
            if isinstance(event, GenerationDone):
                try:
                    yield self._finish(turn, event)
                except (ReceiptStoreError, sqlite3.Error, OSError) as error:
                    yield Failed(
                        FailureKind.RECEIPT,
                        f"the answer is complete but its receipt was not written: {error}",
                    )
            else:
                yield event

    def _local_events(
        self, turn: _Turn, model: ModelFile, messages: Sequence[dict[str, str]]
    ) -> Iterator[PipelineEvent | GenerationDone]:
        options = turn.options
        try:
            turn.model_stamps = model_stamps(model)
        except ModelChangedError as error:
            yield Failed(FailureKind.BAD_INPUT, str(error))
            return
        # A replaced model file is loaded anew: the host keys its loaded models by the file's
        # size and modification time.
        draft = turn.decision.draft if options.draft_model else None
        request = GenerateRequest(
            job_id=0,
            load=_load_spec(model, options, turn.budget),
            messages=tuple(messages),
            params=options.params,
            draft=None if draft is None else _load_spec(draft, options, turn.budget),
            prompt_lookup=options.prompt_lookup,
            memory_allowed=placement.budget(turn.budget),
        )
        for event in self.host.generate(request):
            if isinstance(event, TokenText):
                yield turn.token(event.text, event.tokens)
            elif isinstance(event, ModelLoading):
                yield Loading(model.name)
            elif isinstance(event, ModelLoaded):
                yield turn.start(event)
            elif isinstance(event, HostFailure):
                yield Failed(event.kind, _failure_text(event, model))
            elif isinstance(event, GenerationDone):
                yield event

    def _remote_events(
        self, turn: _Turn, endpoint: RemoteEndpoint, messages: Sequence[dict[str, str]]
    ) -> Iterator[PipelineEvent | GenerationDone]:
        """A remote tier; when its server does not answer, the best local tier does."""
        yield turn.start(ModelLoaded(0, "remote", 0, turn.options.n_ctx, 0.0, True))
        try:
            for item in self.remote.stream(endpoint, messages, turn.options.params):
                if isinstance(item, RemoteDelta):
                    yield turn.token(item.text, 1)
                else:
                    turn.server_model = item.server_model
                    yield GenerationDone(
                        0, item.prompt_tokens or 0, item.completion_tokens, item.finish_reason
                    )
        except RemoteUnavailableError as error:
            try:
                local = self.selector(turn.options, include_remote=False).select(
                    turn.analysis, turn.options.pin
                )
            except NoModelError as none:
                yield Failed(FailureKind.NO_MODEL, f"{error}; {none}")
                return
            fallback = f"{error}; answered by {local.model.name} on this machine instead"
            turn.decision = replace(local, fallback=fallback, reasons=(*local.reasons, fallback))
            turn.notes.append(fallback)
            yield Routed(turn.analysis, turn.decision)
            assert isinstance(local.model, ModelFile)
            yield from self._local_events(turn, local.model, messages)
        except RemoteError as error:
            yield Failed(FailureKind.REMOTE, str(error))

    def _finish(self, turn: _Turn, done: GenerationDone) -> Finished:
        loaded = turn.loaded
        assert loaded is not None, "the host reports ModelLoaded before any result"
        stats = InferenceStats(
            done.prompt_tokens,
            done.completion_tokens,
            round(turn.clock.ttft_ms, 2),
            round(turn.clock.tokens_per_s, 2),
            loaded.load_ms,
            loaded.backend,
            loaded.n_gpu_layers,
            done.finish_reason,
            loaded.gpu_fallback,
            turn.budget.gpu_device if loaded.n_gpu_layers else None,
            done.drafting,
        )
        impact = impact_score(turn.decision.complexity, stats.tokens_per_s, stats.completion_tokens)
        notes = [*turn.notes, *(note for note in (loaded.gpu_fallback, done.note) if note)]
        note = "; ".join(notes) or None
        salt = new_salt()
        record = self._receipt_fields(turn, stats, impact, salt, done)
        receipt = self.chain.append(record.to_body(), salt, _texts_writer(turn, stats, note))
        if isinstance(turn.decision.model, ModelFile):
            self._kv_left_by[turn.decision.model.path] = receipt.hash
        return Finished(turn.answer, turn.analysis, turn.decision, stats, impact, receipt, note)

    def _receipt_fields(
        self, turn: _Turn, stats: InferenceStats, impact: float, salt: bytes, done: GenerationDone
    ) -> ReceiptRecord:
        model, options, loaded = turn.decision.model, turn.options, turn.loaded
        assert loaded is not None, "the host reports ModelLoaded before any result"
        if isinstance(model, RemoteEndpoint):
            identity = ModelIdentity(name=turn.server_model or model.model, endpoint=model.base_url)
        else:
            identity = ModelIdentity(
                name=model.name,
                file=model.path.name,
                sha256=self.hashes.sha256(model, turn.model_stamps),
                stand_in=model.is_starter,
            )
        return ReceiptRecord(
            model=identity,
            tier=turn.decision.tier.name,
            complexity=turn.decision.complexity.label,
            params={
                **options.params.as_record(),
                "n_ctx": options.n_ctx,
                "n_gpu_layers": stats.n_gpu_layers,
                "gpu_device": stats.gpu_device,
                "flash_attn": options.flash_attn,
                "backend": stats.backend,
                "gpu_fallback": stats.gpu_fallback,
            },
            prompt_commitment=commit(turn.prompt, salt),
            response_commitment=commit(turn.answer, salt),
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            ttft_ms=stats.ttft_ms,
            tokens_per_s=stats.tokens_per_s,
            impact=impact,
            stopped=stats.finish_reason is FinishReason.STOPPED,
            drafting=tuple(_drafting_record(stats.drafting)),
            app_version=__version__,
            engine=(
                Engine(llama_cpp_python=loaded.engine_version, system_info=loaded.system_info)
                if loaded.engine_version is not None and loaded.system_info is not None
                else None
            ),
            chat_template_sha256=loaded.chat_template_sha256,
            system_prompt_commitment=(
                commit(options.system_prompt, salt) if options.system_prompt else None
            ),
            history_turns=len(options.history),
            history_commitment=history_commitment(options.history, salt),
            seed=done.seed,
            cached_tokens=done.cached_tokens,
            cache_left_by=(
                self._kv_left_by.get(model.path)
                if done.cached_tokens and isinstance(model, ModelFile)
                else None
            ),
            routing=Routing(
                score=turn.analysis.score,
                confidence=turn.analysis.confidence,
                preference=turn.analysis.preference.value,
                rated=TIER_FOR_COMPLEXITY[turn.analysis.complexity].name,
                wanted=turn.decision.wanted.name,
                override="model" if options.model_path else "tier" if options.pin else None,
                fallback=turn.decision.fallback,
                reasons=(*turn.analysis.reasons, *turn.decision.reasons),
            ),
            finish_reason=stats.finish_reason.value,
            parent_receipt=options.parent_receipt,
        )

    def stop(self) -> None:
        """Stop the running generation (from any thread); a stopped answer still gets a receipt."""
        self.host.stop()
        self.remote.stop()

    @property
    def conversations(self) -> ConversationStore:
        with self._opening:
            if self._conversations is None:
                self._conversations = ConversationStore(self.paths.database)
            return self._conversations

    def _open_exchange(self, prompt: str, options: RunOptions) -> ExchangeWriter | Failed:
        """The prompt stored in its conversation, or why it cannot be."""
        assert options.save_to is not None
        try:
            text = clean_prompt(prompt)
            return ExchangeWriter(self.conversations, options.save_to, text, options.history)
        # An empty prompt; an unknown conversation, or a message not in it (edit, regenerate).
        except (ValueError, LookupError) as error:
            return Failed(FailureKind.BAD_INPUT, str(error))
        except sqlite3.Error as error:
            return Failed(FailureKind.STORAGE, f"the conversation could not be saved: {error}")

    def close(self) -> None:
        self.host.close()
        if self._chain is not None:
            self._chain.close()
            self._chain = None
        with self._opening:
            if self._conversations is not None:
                self._conversations.close()
                self._conversations = None


class Run:
    """One prompt on a Pipeline. Runs from several threads (the window, the local API) wait
    for their turn; `stop()` reaches only this run: while it waits, it ends without starting;
    while it runs, its generation stops (a stopped answer still gets its receipt)."""

    def __init__(self, pipeline: Pipeline, prompt: str, options: RunOptions) -> None:
        self._pipeline = pipeline
        self.prompt = prompt
        self.options = options
        self._stop = threading.Event()
        self._has_turn = False

    def events(self) -> Iterator[PipelineEvent]:
        """Every way the run ends is an event (Finished or Failed); it raises for none. With
        options.save_to, Stored comes first: the prompt is saved before the run waits for its
        turn, and the answer as it streams."""
        options, writer = self.options, None
        if options.save_to is not None:
            opened = self._pipeline._open_exchange(self.prompt, options)
            if isinstance(opened, Failed):
                yield opened
                return
            writer = opened
            parent = options.parent_receipt or writer.parent_receipt
            options = replace(options, history=writer.history, parent_receipt=parent)
            yield writer.ids
        for event in self._events(options, writer):
            if writer is not None and isinstance(event, Token):
                writer.streamed(event.text)
            elif writer is not None and isinstance(event, Failed):
                problem = writer.fail(event.kind, event.message)
                if problem is not None:
                    yield replace(event, message=f"{event.message} ({problem})")
                    continue
            yield event

    def _events(
        self, options: RunOptions, writer: ExchangeWriter | None
    ) -> Iterator[PipelineEvent]:
        with self._pipeline._turn:
            if self._stop.is_set():
                yield Failed(FailureKind.CANCELLED, "Stopped before it started.")
                return
            self._has_turn = True
            try:
                for event in self._pipeline._run(self.prompt, options, writer):
                    # Again at every event: a stop before the host had this job did nothing.
                    if self._stop.is_set():
                        self._pipeline.stop()
                    yield event
            except Exception as error:  # a bug: this run's failure, reported like any other
                yield Failed(FailureKind.INTERNAL, f"{type(error).__name__}: {error}")
            finally:
                self._has_turn = False

    def stop(self) -> None:
        """From any thread."""
        self._stop.set()
        if self._has_turn:  # else: the check when it gets its turn, or at its next event
            self._pipeline.stop()


def _texts_writer(
    turn: _Turn, stats: InferenceStats, note: str | None
) -> Callable[[sqlite3.Connection, str], None] | None:
    """What stores the answer and its receipt link in the receipt's own transaction."""
    writer = turn.writer
    if writer is None:
        return None
    meta = answer_meta(turn.analysis, turn.decision, stats, note)
    return lambda conn, receipt_hash: writer.finish(conn, receipt_hash, turn.answer, meta)


def _load_spec(model: ModelFile, options: RunOptions, budget: MemoryBudget) -> LoadSpec:
    return LoadSpec(
        model_path=str(model.path),
        n_ctx=options.n_ctx,
        n_threads=options.n_threads or physical_cores(),
        n_gpu_layers=options.n_gpu_layers,
        vram_free=budget.vram_free,
        memory_needed=model.memory_needed(options.n_ctx),
        n_layers=model.header.arch_int("block_count"),
        gpu_device=budget.gpu_device,
        flash_attn=options.flash_attn,
        adaptive_threads=not options.n_threads,
    )


def _drafting_record(drafting: Sequence[DraftStats]) -> list[dict[str, Any]]:
    """Each drafter's counts and acceptance rate (accepted ÷ drafted, None if it drafted
    nothing): a draft changes no token, so the draft model is named, not hashed."""
    return [
        {
            **stats.as_record(),
            "acceptance": round(stats.accepted / stats.drafted, 3) if stats.drafted else None,
        }
        for stats in drafting
    ]


def _failure_text(failure: HostFailure, model: ModelFile) -> str:
    if failure.kind is FailureKind.CONTEXT_OVERFLOW:
        return f"Prompt too long for {model.name}: {failure.message}"
    if failure.kind is FailureKind.CANCELLED:
        return f"Loading {model.name} was cancelled"
    return f"{model.name}: {failure.message}"
