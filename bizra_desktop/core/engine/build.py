"""What a receipt needs from the inference host to say how an answer can be made again: the
llama.cpp build, the chat template's hash, the seed the sampler was given. Runs in the host
process (it imports llama_cpp); the values cross to the app in ModelLoaded and GenerationDone."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from typing import Any

from bizra_desktop.core.engine.protocol import SamplingParams

# llama.cpp's own "draw a random seed" value; a seed the host draws is always below it.
_SEED_LIMIT = 0xFFFFFFFF


def engine_build(llama_cpp: Any) -> tuple[str, str]:
    """(llama-cpp-python's version, llama.cpp's system info): the same version on a CPU with
    other features (AVX-512, ...) runs other kernels, whose sums may round differently."""
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    return str(llama_cpp.__version__), " ".join(info.split())


def template_sha256(template: str | None) -> str | None:
    """Hex SHA-256 of the chat template's UTF-8 text; None for a model without one."""
    if not template:
        return None
    return hashlib.sha256(template.encode("utf-8", "surrogatepass")).hexdigest()


def with_seed(params: SamplingParams) -> SamplingParams:
    """`params` with a seed: the one asked for, else one drawn here, so that the receipt can
    record the seed a sampled answer really used (llama.cpp's own draw is not reported)."""
    if params.seed is not None:
        return params
    return replace(params, seed=secrets.randbelow(_SEED_LIMIT))
