"""llama.cpp behind a small interface: load once, stream chat answers token by token.

This runs inside the inference host process; the benchmark also runs it in-process to measure
what the process boundary costs.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, cast

from bizra_desktop.core.engine.build import engine_build, template_sha256, with_seed
from bizra_desktop.core.engine.decode import Decoder
from bizra_desktop.core.engine.drafts import (
    Drafter,
    ModelDrafter,
    PromptLookup,
    Speculation,
    vocabulary_mismatch,
)
from bizra_desktop.core.engine.protocol import (
    COMPUTE_ALLOWANCE,
    FinishReason,
    GenerationDone,
    LoadSpec,
    ModelLoaded,
    PromptReady,
    SamplingParams,
    TokenText,
)
from bizra_desktop.core.engine.sampler import Sampler
from bizra_desktop.core.engine.threads import ThreadGovernor

# Room kept for the answer when deciding whether a prompt fits the context window.
MIN_ANSWER_TOKENS = 64
# Fraction of free VRAM a fully offloaded model may use; the rest is the driver's and the
# compute buffers'.
VRAM_HEADROOM = 0.9


class ContextOverflowError(ValueError):
    pass


class ModelLoadError(RuntimeError):
    pass


def _llama_cpp() -> Any:
    """llama_cpp (only the host process loads it), with CUDA numbering the GPUs in the order
    nvidia-smi and NVML list them, so a device chosen in Settings is the one that is used."""
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    import llama_cpp  # noqa: PLC0415

    return llama_cpp


def gpu_backend() -> str | None:
    """The GPU backend this llama.cpp build offloads to, or None for a CPU-only build."""
    llama_cpp = _llama_cpp()
    if not llama_cpp.llama_supports_gpu_offload():
        return None
    if sys.platform == "darwin":
        return "Metal"
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").upper()
    for name in ("CUDA", "HIP", "VULKAN", "SYCL", "METAL"):
        if name in info:
            return name.title() if name in ("VULKAN", "METAL") else name
    return "GPU"


# ggml_backend_dev_type: a discrete GPU with its own memory (integrated ones share the RAM).
_GGML_DEVICE_GPU = 1


@dataclass(frozen=True)
class Device:
    """A device as llama.cpp's ggml backend registry sees it."""

    name: str  # "CPU", "CUDA0", "Vulkan0", ...
    description: str
    is_gpu: bool
    free: int
    total: int


def _shared_library(folder: Path, name: str) -> ctypes.CDLL:
    if sys.platform == "win32":
        return ctypes.CDLL(str(folder / f"{name}.dll"))
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return ctypes.CDLL(str(folder / f"lib{name}{suffix}"))


def llama_devices() -> list[Device]:
    """Every device this llama.cpp build can run on, with its free memory as the driver reports
    it: the VRAM reading for GPUs that NVML does not know (Vulkan, ROCm, SYCL)."""
    folder = Path(_llama_cpp().__file__).parent / "lib"
    registry, base = _shared_library(folder, "ggml"), _shared_library(folder, "ggml-base")
    registry.ggml_backend_dev_get.restype = ctypes.c_void_p
    registry.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    registry.ggml_backend_dev_count.restype = ctypes.c_size_t
    for function in (base.ggml_backend_dev_name, base.ggml_backend_dev_description):
        function.restype, function.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
    base.ggml_backend_dev_type.restype = ctypes.c_int
    base.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    memory = base.ggml_backend_dev_memory
    memory.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    devices = []
    for index in range(registry.ggml_backend_dev_count()):
        device = registry.ggml_backend_dev_get(index)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        memory(device, ctypes.byref(free), ctypes.byref(total))
        devices.append(
            Device(
                base.ggml_backend_dev_name(device).decode("utf-8", "replace"),
                base.ggml_backend_dev_description(device).decode("utf-8", "replace"),
                base.ggml_backend_dev_type(device) == _GGML_DEVICE_GPU,
                free.value,
                total.value,
            )
        )
    return devices


def gpu_free_memory(devices: Sequence[Device], gpu_device: int | None) -> int | None:
    """Free memory of the chosen GPU (its place among the GPUs) or of all GPUs together."""
    gpus = [device for device in devices if device.is_gpu]
    if gpu_device is not None:
        gpus = gpus[gpu_device : gpu_device + 1]
    return sum(gpu.free for gpu in gpus) if gpus else None


def choose_gpu_layers(spec: LoadSpec, backend: str | None) -> int:
    """-1 (all), a number of layers, or 0 (CPU): everything when it fits in free VRAM, else
    as many layers as fit beside their share of the KV cache, else none. Decided here, in the
    host: only llama.cpp knows the build's backend and, off NVIDIA, the free VRAM."""
    if spec.n_gpu_layers is not None:
        return spec.n_gpu_layers if backend else 0
    if backend is None:
        return 0
    if backend == "Metal":  # unified memory: the GPU sees all of RAM
        return -1
    if spec.vram_free is None:
        return 0
    room = spec.vram_free * VRAM_HEADROOM
    if spec.memory_needed <= room:
        return -1
    if not spec.n_layers:
        return 0
    # Each offloaded layer brings its weights and its slice of the KV cache; the compute
    # buffers are paid once.
    per_layer = (spec.memory_needed - COMPUTE_ALLOWANCE) / spec.n_layers
    layers = int((room - COMPUTE_ALLOWANCE) // per_layer)
    return max(0, min(layers, spec.n_layers - 1))


@dataclass
class _Loaded:
    spec: LoadSpec
    llama: Any
    format_chat: Callable[[Sequence[dict[str, str]]], tuple[str, bool, list[str]]]
    backend: str
    n_gpu_layers: int
    gpu_fallback: str | None
    vocabulary: _Vocabulary
    threads: ThreadGovernor | None = None  # None: a fixed thread count


def _load(spec: LoadSpec, n_gpu_layers: int) -> Any:
    llama_cpp = _llama_cpp()
    one_device = spec.gpu_device is not None and n_gpu_layers != 0
    try:
        llama = llama_cpp.Llama(
            model_path=spec.model_path,
            n_ctx=spec.n_ctx,
            n_threads=spec.n_threads,
            n_threads_batch=spec.n_threads,
            n_gpu_layers=n_gpu_layers,
            split_mode=(
                llama_cpp.LLAMA_SPLIT_MODE_NONE if one_device else llama_cpp.LLAMA_SPLIT_MODE_LAYER
            ),
            main_gpu=spec.gpu_device if one_device else 0,
            # llama.cpp's own default (and llama-bench's); llama-cpp-python turns it off.
            flash_attn=spec.flash_attn,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as error:
        raise ModelLoadError(f"llama.cpp could not load {spec.model_path}: {error}") from None
    try:
        _check_scores(llama, spec.model_path)
    except ModelLoadError:
        llama.close()
        raise
    return llama


def _check_scores(llama: Any, model_path: str) -> None:
    """One token through the model: damaged weights give NaN scores, over which sampling
    crawls (seconds a token) instead of failing. Costs one decode per load."""
    import numpy as np  # noqa: PLC0415 - comes with llama-cpp-python

    bos = llama.token_bos()
    llama.eval([bos if bos >= 0 else 0])
    scores = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
    finite = bool(np.isfinite(scores).all())
    llama.reset()
    if not finite:
        raise ModelLoadError(
            f"{model_path} gives not-a-number scores: its weights are damaged "
            "(download or convert it again)"
        )


def _chat_formatter(
    llama: Any,
) -> Callable[[Sequence[dict[str, str]]], tuple[str, bool, list[str]]]:
    """The model's own chat template, rendered in llama-cpp-python's sandboxed Jinja."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter  # noqa: PLC0415

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        # A base model without a template: a plain transcript it can continue.
        def transcript(messages: Sequence[dict[str, str]]) -> tuple[str, bool, list[str]]:
            lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
            return "\n".join([*lines, "Assistant:"]), False, ["\nUser:"]

        return transcript

    def token_text(token_id: int) -> str:
        return str(llama._model.token_get_text(token_id)) if token_id != -1 else ""

    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
    )

    def render(messages: Sequence[dict[str, str]]) -> tuple[str, bool, list[str]]:
        result = formatter(messages=cast(Any, list(messages)))
        stops = result.stop if isinstance(result.stop, list) else [result.stop or ""]
        return result.prompt, bool(result.added_special), [s for s in stops if s]

    return render


def _model_key(spec: LoadSpec, role: str) -> tuple[object, ...]:
    """What makes a loaded model reusable: the file as it is now (a replaced file loads anew)
    and the settings it was loaded with; not the free memory measured for the request."""
    stat = os.stat(spec.model_path)
    return (
        role,
        spec.model_path,
        stat.st_size,
        stat.st_mtime_ns,
        spec.n_ctx,
        spec.n_threads,
        spec.n_gpu_layers,
        spec.gpu_device,
        spec.flash_attn,
        spec.adaptive_threads,
    )


class LlamaRunner:
    """Keeps recently used models loaded, as many as the request's memory allows (least
    recently used evicted first), and streams chat completions from the one asked for last.

    `own_sampler` False leaves sampling to llama-cpp-python's chain: the benchmark's baseline
    for ours (sampler.py), which gives the same tokens faster.
    """

    def __init__(self, own_sampler: bool = True) -> None:
        # Least recently used first. A draft model has its own entries ("draft" role): a
        # model drafting for itself needs a second context.
        self._models: OrderedDict[tuple[object, ...], _Loaded] = OrderedDict()
        self._loaded: _Loaded | None = None  # the model answering
        self._draft: _Loaded | None = None  # the model drafting for it, if any
        self._draft_note: str | None = None  # why the requested draft model does not draft
        self.own_sampler = own_sampler

    def ensure_loaded(
        self, spec: LoadSpec, draft: LoadSpec | None = None, memory_allowed: int | None = None
    ) -> ModelLoaded:
        """Load `spec` (and `draft`, which drafts for it) unless loaded already. Other models
        stay loaded while all together need at most `memory_allowed` bytes (their
        `memory_needed`); None keeps only these. A draft model that fails to load or does not
        share the vocabulary is left out with a note in the answer; the answer is the same."""
        needed = [_model_key(spec, "target")]
        if draft is not None:
            needed.append(_model_key(draft, "draft"))
        if memory_allowed is None:
            for key in [key for key in self._models if key not in needed]:
                self._evict(key)
        loaded, load_ms = self._ensure(spec, "target", memory_allowed, needed)
        reused = load_ms is None
        self._loaded, self._draft, self._draft_note = loaded, None, None
        if draft is not None:
            try:
                drafting, draft_ms = self._ensure(draft, "draft", memory_allowed, needed)
            except (ModelLoadError, OSError) as error:
                self._draft_note = f"no drafting: {error}"
            else:
                mismatch = vocabulary_mismatch(loaded.llama, drafting.llama)
                if mismatch:
                    name = Path(draft.model_path).name
                    self._draft_note = f"no drafting: {name} {mismatch}"
                else:
                    self._draft = drafting
                reused = reused and draft_ms is None
                load_ms = (load_ms or 0.0) + (draft_ms or 0.0)
        return ModelLoaded(
            0,
            loaded.backend,
            loaded.n_gpu_layers,
            context_size(loaded.llama),
            round(load_ms or 0.0, 2),
            reused,
            loaded.gpu_fallback,
            *engine_build(_llama_cpp()),
            template_sha256(loaded.llama.metadata.get("tokenizer.chat_template")),
        )

    def _ensure(
        self,
        spec: LoadSpec,
        role: str,
        memory_allowed: int | None,
        keep: Sequence[tuple[object, ...]],
    ) -> tuple[_Loaded, float | None]:
        """The loaded model for `spec` and its load time in ms (None: it was loaded already)."""
        key = _model_key(spec, role)
        loaded = self._models.get(key)
        if loaded is not None:
            self._models.move_to_end(key)
            return loaded, None
        for stale in [k for k in self._models if k[:2] == key[:2]]:  # its file was replaced
            self._evict(stale)
        self._make_room(spec.memory_needed, memory_allowed, keep)
        backend = gpu_backend()
        fit = spec
        if backend not in (None, "Metal") and spec.vram_free is None:
            # The app reads VRAM through NVML; other GPUs are measured here, by llama.cpp.
            fit = replace(spec, vram_free=gpu_free_memory(llama_devices(), spec.gpu_device))
        n_gpu_layers = choose_gpu_layers(fit, backend)
        started = time.perf_counter()
        fallback = None
        try:
            llama = _load(spec, n_gpu_layers)
        except ModelLoadError as error:
            if not n_gpu_layers:
                raise
            # Out of VRAM or a driver error: the model still runs, slower, on the CPU.
            fallback = f"loading on {backend} failed ({error}); running on the CPU"
            n_gpu_layers = 0
            llama = _load(spec, 0)
        load_ms = (time.perf_counter() - started) * 1000
        loaded = _Loaded(
            spec,
            llama,
            _chat_formatter(llama),
            (backend or "CPU") if n_gpu_layers else "CPU",
            n_gpu_layers,
            fallback,
            _Vocabulary(llama),
        )
        if spec.adaptive_threads and not n_gpu_layers:
            loaded.threads = ThreadGovernor.for_llama(_llama_cpp(), llama, spec.n_threads)
        self._models[key] = loaded
        return loaded, load_ms

    def _make_room(
        self, needed: int, allowed: int | None, keep: Sequence[tuple[object, ...]]
    ) -> None:
        """Evict the least recently used models, except `keep`, until `needed` more bytes fit
        in `allowed` beside the rest."""
        for key in list(self._models):
            held = sum(other.spec.memory_needed for other in self._models.values())
            if allowed is not None and held + needed <= allowed:
                return
            if key not in keep:
                self._evict(key)

    def _evict(self, key: tuple[object, ...]) -> None:
        loaded = self._models.pop(key)
        if loaded is self._loaded:
            self._loaded = None
        if loaded is self._draft:
            self._draft = None
        loaded.llama.close()

    def unload(self) -> None:
        for key in list(self._models):
            self._evict(key)

    def stream(
        self,
        messages: Sequence[dict[str, str]],
        params: SamplingParams,
        should_stop: Callable[[], bool],
        prompt_lookup: bool = False,
    ) -> Iterator[PromptReady | TokenText | GenerationDone]:
        """Yield the answer's text as it is generated, then one GenerationDone.

        `should_stop` is polled after every token, so a stop takes effect within one token.
        Drafts (prompt lookup if asked, the draft model loaded with this model) speed it up
        and change no token (drafts.py).
        """
        if self._loaded is None:
            raise RuntimeError("no model loaded")
        llama = self._loaded.llama
        prompt_tokens, stops, dropped = self._fit_context(list(messages))
        params = with_seed(params)  # the receipt records the seed a sampled answer used
        yield PromptReady(0, len(prompt_tokens))
        n_ctx = context_size(llama)
        room = n_ctx - len(prompt_tokens)
        budget = min(params.max_tokens, room)
        drafters = self._drafters(prompt_lookup)
        speculation = Speculation(drafters) if drafters else None
        decoder = Decoder(_llama_cpp(), llama)
        tokens = decoder.tokens(prompt_tokens, self._sampler(llama, params), budget, speculation)
        answer = _AnswerText(self._loaded.vocabulary, [*stops, *params.stop], params.ignore_eos)
        tick = self._loaded.threads.answer() if self._loaded.threads else _no_tick
        yield from answer.events(tokens, budget, should_stop, tick)
        notes = [self._draft_note] if self._draft_note else []
        if dropped:
            notes.append(
                f"the {dropped} earliest messages were left out: the conversation is longer "
                f"than the context window ({n_ctx:,} tokens)"
            )
        if answer.finish is FinishReason.LENGTH and budget < params.max_tokens:
            notes.append(f"answer cut at {budget} tokens: the context window ({n_ctx:,}) is full")
        yield GenerationDone(
            0,
            len(prompt_tokens),
            answer.generated,
            answer.finish,
            "; ".join(notes) or None,
            speculation.stats() if speculation is not None else (),
            seed=params.seed,
            # The decoder's own count: the prompt is decoded at the answer's first token,
            # which events() always asks for, so it is known by now.
            cached_tokens=decoder.from_cache,
        )

    def _sampler(self, llama: Any, params: SamplingParams) -> Callable[[int], int]:
        """`sample(i)`: the token at row i of the last batch's logits, by our sampler chain
        or, with `own_sampler` False, llama-cpp-python's (what Llama.generate would build)."""
        if self.own_sampler:
            return partial(Sampler(_llama_cpp(), llama, params).sample, llama._ctx)
        if params.seed is not None:
            llama.set_seed(params.seed)
        chain = llama._init_sampler(
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            temp=params.temperature,
            repeat_penalty=params.repeat_penalty,
        )
        return partial(chain.sample, llama._ctx)

    def _drafters(self, prompt_lookup: bool) -> list[Drafter]:
        """Prompt lookup first: its guesses cost nothing, a draft model's cost decodes."""
        drafters: list[Drafter] = [PromptLookup()] if prompt_lookup else []
        if self._draft is not None:
            name = Path(self._draft.spec.model_path).name
            drafters.append(ModelDrafter(self._draft.llama, name))
        return drafters

    def _fit_context(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str], int]:
        """Tokenize the chat, leaving out the oldest turns until it fits with room to answer.

        The system message and the newest prompt always stay; a prompt that alone does not fit
        is a ContextOverflowError.
        """
        assert self._loaded is not None
        llama = self._loaded.llama
        dropped = 0
        while True:
            prompt, added_special, stops = self._loaded.format_chat(messages)
            tokens: list[int] = llama.tokenize(
                prompt.encode("utf-8"), add_bos=not added_special, special=True
            )
            room = context_size(llama) - len(tokens)
            if room >= MIN_ANSWER_TOKENS:
                return tokens, stops, dropped
            oldest = next((i for i, m in enumerate(messages[:-1]) if m["role"] != "system"), None)
            if oldest is None:
                raise ContextOverflowError(
                    f"the prompt is {len(tokens):,} tokens but the model's context window "
                    f"holds {context_size(llama):,} including at least {MIN_ANSWER_TOKENS} for the "
                    f"answer; shorten it by about {MIN_ANSWER_TOKENS - room:,} tokens"
                )
            del messages[oldest]
            dropped += 1


class _AnswerText:
    """Turns the answer's tokens into text events: whole characters, stop strings held back
    and cut at, the end token, the budget and the stop flag checked after every token."""

    def __init__(self, vocabulary: _Vocabulary, stops: Sequence[str], ignore_eos: bool) -> None:
        self._piece = vocabulary.piece
        self._is_end = vocabulary.is_end
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stops = _StopFilter(stops)
        self._ignore_eos = ignore_eos
        self.generated = 0
        self.finish = FinishReason.LENGTH

    def events(
        self,
        tokens: Iterator[int],
        budget: int,
        should_stop: Callable[[], bool],
        tick: Callable[[], None],
    ) -> Iterator[TokenText]:
        pending = 0  # tokens whose text has not been sent yet (a character split over tokens)
        for token in tokens:
            tick()  # per-token time, for the thread count (engine/threads.py)
            if self._is_end(token) and not self._ignore_eos:
                self.finish = FinishReason.STOP
                break
            self.generated += 1
            pending += 1
            text, hit_stop = self._stops.feed(self._utf8.decode(self._piece(token)))
            if text:
                yield TokenText(0, text, pending)
                pending = 0
            if hit_stop:
                self.finish = FinishReason.STOP
                break
            if should_stop():
                self.finish = FinishReason.STOPPED
                break
            if self.generated >= budget:
                break
        tail = self._stops.flush(self._utf8.decode(b"", final=True))
        if tail or pending:
            yield TokenText(0, tail, pending)


def context_size(llama: Any) -> int:
    """The tokens the context holds for us: what was asked. llama.cpp pads its context up to a
    multiple of 256 (`n_ctx()` says 256 for 160), but llama-cpp-python sizes its token record,
    which the decoder writes, to the n_ctx asked for."""
    return min(int(llama.n_ctx()), len(llama.input_ids))


def _no_tick() -> None:
    """The per-token callback when the thread count is fixed."""


class _Vocabulary:
    """A token's bytes, and whether it ends the answer, asked of llama.cpp once per token id
    of a loaded model: a ctypes call right after a decode runs on cold caches (about 15 µs),
    a dictionary look-up far less."""

    def __init__(self, llama: Any) -> None:
        self._llama_cpp = _llama_cpp()
        self._vocab = llama._model.vocab
        self._pieces: dict[int, bytes] = {}
        self._ends: dict[int, bool] = {}

    def piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self._read_piece(token)
        return piece

    def is_end(self, token: int) -> bool:
        end = self._ends.get(token)
        if end is None:
            end = self._ends[token] = bool(self._llama_cpp.llama_vocab_is_eog(self._vocab, token))
        return end

    def _read_piece(self, token: int) -> bytes:
        # llama-cpp-python's own helper pads a piece to 32 bytes.
        to_piece, size = self._llama_cpp.llama_token_to_piece, 64
        while True:
            buffer = ctypes.create_string_buffer(size)
            length = to_piece(self._vocab, token, buffer, size, 0, False)
            if length >= 0:
                return buffer.raw[:length]
            size = -length  # the piece is longer than the buffer: -length is what it needs


class _StopFilter:
    """Holds back text that might be the start of a stop string, and cuts at one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [stop for stop in stops if stop]
        self.held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        if not self.stops:
            return text, False
        buffer = self.held + text
        for stop in self.stops:
            index = buffer.find(stop)
            if index >= 0:
                self.held = ""
                return buffer[:index], True
        keep = max(
            (n for stop in self.stops for n in range(1, len(stop)) if buffer.endswith(stop[:n])),
            default=0,
        )
        self.held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep], False

    def flush(self, text: str) -> str:
        rest, _ = self.feed(text)
        rest += self.held
        self.held = ""
        return rest
