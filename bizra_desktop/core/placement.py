"""Whether a model fits here: the memory it needs and the budget the loaded models share.

One owner for these numbers: the selector (which tier fits), the model manager (fits / tight /
won't fit before a download) and the inference host (which loaded models it may keep, through
GenerateRequest.memory_allowed) all take them from here, so none can disagree with another.
How many of a model's layers go to the GPU is decided in the host (engine/runner.py
`choose_gpu_layers`): only llama.cpp knows the build's backend and, off NVIDIA, the free VRAM,
and the engine imports nothing of core but its protocol. It splits `memory_needed` as computed
here, with the protocol's COMPUTE_ALLOWANCE.
"""

from __future__ import annotations

from bizra_desktop.core.engine.protocol import COMPUTE_ALLOWANCE
from bizra_desktop.core.hardware import MemoryBudget

# Share of free RAM + VRAM the loaded models may take: the rest is the OS's, the app's and
# the browser's the user has open.
MEMORY_HEADROOM = 0.85


def memory_needed(weights: int, kv_cache: int) -> int:
    """Bytes a model needs to run: its weights, its KV cache and the compute allowance."""
    return weights + kv_cache + COMPUTE_ALLOWANCE


def budget(memory: MemoryBudget) -> int:
    """Bytes the loaded models may take together. With a GPU, layers that do not fit in VRAM
    stay in RAM: both count."""
    return int((memory.ram_available + (memory.vram_free or 0)) * MEMORY_HEADROOM)


def fits(needed: int, memory: MemoryBudget) -> bool:
    """Whether models needing `needed` bytes together fit in the budget."""
    return needed <= budget(memory)
