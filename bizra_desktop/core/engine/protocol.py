"""Messages between the app and the inference host process (all picklable dataclasses)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

# What llama.cpp's compute and scratch buffers take beside the weights and the KV cache, paid
# once per loaded model (measured loosely). Part of LoadSpec.memory_needed, which the app
# computes (core/placement.py) and the host splits across the GPU's layers.
COMPUTE_ALLOWANCE = 256 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int | None = None
    ignore_eos: bool = False  # benchmarks: keep generating to max_tokens
    # The answer ends before the first of these, which it leaves out (an API request's `stop`).
    stop: tuple[str, ...] = ()

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class LoadSpec:
    model_path: str
    n_ctx: int = 4096
    n_threads: int = 1
    n_gpu_layers: int | None = None  # None: decide from the build and free VRAM
    vram_free: int | None = None
    memory_needed: int = 0  # weights + KV cache + COMPUTE_ALLOWANCE, for the VRAM fit
    n_layers: int | None = None  # transformer blocks, for a partial offload
    gpu_device: int | None = None  # None: every GPU (llama.cpp splits the layers); else that one
    flash_attn: bool = True
    # n_threads is the most; while other processes take cores, fewer (engine/threads.py).
    adaptive_threads: bool = False


@dataclass(frozen=True, kw_only=True)
class GenerateRequest:
    job_id: int
    load: LoadSpec
    messages: tuple[dict[str, str], ...]
    params: SamplingParams = field(default_factory=SamplingParams)
    # Speculative decoding (engine/drafts.py): a smaller model with the same vocabulary that
    # drafts for `load`, and prompt lookup. Neither changes the answer, only its speed.
    draft: LoadSpec | None = None
    prompt_lookup: bool = False
    # Bytes the loaded models may take together (the selector's budget); the host keeps
    # earlier models loaded within it, so switching back to one costs nothing. None: only
    # the models this request needs stay loaded.
    memory_allowed: int | None = None


@dataclass(frozen=True)
class Shutdown:
    pass


# --- events from the host ---------------------------------------------------------------


@dataclass(frozen=True)
class ModelLoading:
    job_id: int
    model_path: str


@dataclass(frozen=True)
class ModelLoaded:
    job_id: int
    backend: str  # "CPU", "CUDA", "Metal", "Vulkan", ...
    n_gpu_layers: int
    n_ctx: int
    load_ms: float  # 0 when the model was already loaded
    reused: bool
    gpu_fallback: str | None = None  # why a GPU load failed and the model runs on the CPU
    # For the receipt (engine/build.py): the llama.cpp build and the chat template answering.
    engine_version: str | None = None  # llama-cpp-python's version
    system_info: str | None = None  # llama.cpp's CPU/GPU feature line
    chat_template_sha256: str | None = None  # None: no template (a plain transcript)


@dataclass(frozen=True)
class PromptReady:
    """The chat template rendered and the prompt tokenized: a runaway template is caught by
    the time this takes."""

    job_id: int
    prompt_tokens: int


@dataclass(frozen=True)
class TokenText:
    job_id: int
    text: str
    tokens: int  # generated tokens this text stands for (a held-back UTF-8 piece merges two)


class FinishReason(StrEnum):
    STOP = "stop"  # the model ended its answer
    LENGTH = "length"  # max_tokens or the context window was reached
    STOPPED = "stopped"  # the user stopped it


@dataclass(frozen=True, kw_only=True)
class DraftStats:
    """What one drafter contributed to one answer."""

    method: str  # "prompt_lookup" or "draft_model"
    model: str | None  # the draft model's file name
    drafted: int  # tokens drafted (and checked)
    accepted: int  # of those, tokens the answering model picked too

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GenerationDone:
    job_id: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    note: str | None = None  # e.g. why the answer was cut short
    drafting: tuple[DraftStats, ...] = ()  # one per drafter this answer had
    seed: int | None = None  # the sampler's seed: the one asked for, else the one drawn
    cached_tokens: int = 0  # prompt tokens whose KV cache an earlier answer left (not decoded)


class FailureKind(StrEnum):
    """Why a run ended without an answer: every front end reads a failure from this one list."""

    BAD_MODEL = "bad_model"
    CONTEXT_OVERFLOW = "context_overflow"
    CRASHED = "crashed"
    CANCELLED = "cancelled"  # stopped before an answer began (waiting, or loading its model)
    INTERNAL = "internal"
    # Raised before or after the host runs (core/pipeline.py), never by the host itself:
    BAD_INPUT = "bad_input"  # an empty prompt, an unusable model file, an unknown conversation
    NO_MODEL = "no_model"  # nothing at all can answer: no tier and no starter model
    REMOTE = "remote"  # a remote tier's server refused or broke off
    RECEIPT = "receipt"  # the answer is complete but its receipt could not be written
    STORAGE = "storage"  # the conversation the prompt belongs to could not be written


@dataclass(frozen=True)
class HostFailure:
    job_id: int
    kind: FailureKind
    message: str


HostEvent = ModelLoading | ModelLoaded | PromptReady | TokenText | GenerationDone | HostFailure
