"""Memory budget and GPU layers (core/placement.py), on the real starter model's GGUF header.

The selector, the model manager's fit estimate and the host's cache of loaded models take
their numbers from placement, and the host splits placement's `memory_needed` across the GPU's
layers: these tests check the numbers, that the consumers agree at the boundary, and the split
of the real model.
"""

from __future__ import annotations

import pytest

from bizra_desktop.core import placement
from bizra_desktop.core.engine.protocol import COMPUTE_ALLOWANCE, LoadSpec
from bizra_desktop.core.engine.runner import VRAM_HEADROOM, choose_gpu_layers
from bizra_desktop.core.hardware import MIB, MemoryBudget
from bizra_desktop.core.models import fit
from bizra_desktop.core.models.store import ModelFile, open_model
from bizra_desktop.core.selector import AdaptiveSelector
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path

N_CTX = 2048


@pytest.fixture
def starter() -> ModelFile:
    return open_model(starter_path(), is_starter=True)


def _starter_spec(starter: ModelFile, vram_free: int | None) -> LoadSpec:
    return LoadSpec(
        model_path=str(starter.path),
        n_ctx=N_CTX,
        vram_free=vram_free,
        memory_needed=starter.memory_needed(N_CTX),
        n_layers=starter.header.arch_int("block_count"),
    )


def test_a_model_needs_its_weights_its_kv_cache_and_the_compute_allowance(
    starter: ModelFile,
) -> None:
    header = starter.header
    # SmolLM2-135M's shape as its header states it: 30 blocks, 9 query heads sharing 3 KV
    # heads, 576 wide, so 64 values a head.
    assert header.architecture == "llama"
    shape = ("block_count", "attention.head_count", "attention.head_count_kv", "embedding_length")
    assert [header.arch_int(key) for key in shape] == [30, 9, 3, 576]
    kv_cache = 2 * 2 * 30 * 3 * (576 // 9) * N_CTX  # K and V, f16, every layer and position
    assert header.kv_cache_bytes(N_CTX) == kv_cache
    weights = starter_path().stat().st_size
    needed = starter.memory_needed(N_CTX)
    assert needed == weights + kv_cache + COMPUTE_ALLOWANCE
    assert needed == placement.memory_needed(weights, kv_cache)
    assert COMPUTE_ALLOWANCE == 256 * MIB
    # Twice the context, twice the KV cache; the weights and the allowance stay.
    assert starter.memory_needed(2 * N_CTX) - needed == kv_cache


def test_the_budget_is_free_ram_and_vram_less_the_headroom() -> None:
    ram_only = MemoryBudget(ram_available=8_000_000_000, vram_free=None)
    assert placement.budget(ram_only) == int(8_000_000_000 * placement.MEMORY_HEADROOM)
    with_gpu = MemoryBudget(ram_available=8_000_000_000, vram_free=2_000_000_000, gpu_device=0)
    # Layers that do not fit in VRAM stay in RAM: both count.
    assert placement.budget(with_gpu) == int(10_000_000_000 * placement.MEMORY_HEADROOM)
    assert placement.budget(MemoryBudget(ram_available=0, vram_free=None)) == 0


def _smallest_ram_that_fits(needed: int) -> int:
    ram = int(needed / placement.MEMORY_HEADROOM)
    while placement.budget(MemoryBudget(ram_available=ram, vram_free=None)) < needed:
        ram += 1
    return ram


def test_the_selector_and_the_fit_estimate_agree_at_the_boundary(starter: ModelFile) -> None:
    needed = starter.memory_needed(N_CTX)
    ram = _smallest_ram_that_fits(needed)
    enough = MemoryBudget(ram_available=ram, vram_free=None)
    short = MemoryBudget(ram_available=ram - 1, vram_free=None)
    assert placement.fits(needed, enough)
    assert not placement.fits(needed, short)

    for memory, expected in ((enough, True), (short, False)):
        selector = AdaptiveSelector({Tier.NANO: starter}, starter, memory, N_CTX)
        assert selector.fits(starter) is expected
        estimate = fit.estimate(needed, memory)
        assert (estimate.fit is not fit.Fit.WONT_FIT) is expected
        assert estimate.budget == placement.budget(memory)


def test_the_starter_goes_wholly_on_a_gpu_with_room_for_it(starter: ModelFile) -> None:
    needed = starter.memory_needed(N_CTX)
    room = int(needed / VRAM_HEADROOM) + 1
    assert choose_gpu_layers(_starter_spec(starter, room), "CUDA") == -1
    # The same VRAM on a CPU-only build: nothing is offloaded.
    assert choose_gpu_layers(_starter_spec(starter, room), None) == 0


@pytest.mark.parametrize("vram_mib", [300, 330, 360])
def test_a_partial_offload_takes_as_many_layers_as_fit(starter: ModelFile, vram_mib: int) -> None:
    spec = _starter_spec(starter, vram_mib * MIB)
    layers = choose_gpu_layers(spec, "CUDA")
    assert spec.n_layers == 30
    assert 0 < layers < spec.n_layers
    # Each layer brings its share of the weights and the KV cache; the allowance is paid once.
    per_layer = (spec.memory_needed - COMPUTE_ALLOWANCE) / spec.n_layers
    room = vram_mib * MIB * VRAM_HEADROOM
    assert layers * per_layer + COMPUTE_ALLOWANCE <= room
    assert (layers + 1) * per_layer + COMPUTE_ALLOWANCE > room  # not one more


def test_vram_below_the_compute_allowance_keeps_the_model_on_the_cpu(
    starter: ModelFile,
) -> None:
    assert choose_gpu_layers(_starter_spec(starter, 200 * MIB), "CUDA") == 0
