"""GPU offload decisions against recorded device descriptions, and the CPU fallback.

No GPU exists on the test machines: the device side is recorded `nvidia-smi` output and, for the
fallback, a build that claims CUDA and fails to load on it. The CPU load that follows is real.
"""

from __future__ import annotations

from typing import Any

import pytest

from bizra_desktop.core.engine import runner as runner_module
from bizra_desktop.core.engine.protocol import (
    COMPUTE_ALLOWANCE,
    LoadSpec,
    SamplingParams,
    TokenText,
)
from bizra_desktop.core.engine.runner import VRAM_HEADROOM, LlamaRunner, choose_gpu_layers
from bizra_desktop.core.hardware import SMI_FIELDS, Gpu, free_vram, parse_smi_gpus
from bizra_desktop.core.pipeline import describe_runtime
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path

MIB = 1024 * 1024
# `nvidia-smi --query-gpu=index,name,memory.free,memory.total --format=csv,noheader,nounits`
# on real cards.
RECORDED = {
    "GTX 1650 4 GB, idle desktop": "0, NVIDIA GeForce GTX 1650, 3721, 4096\n",
    "RTX 3060 12 GB, browser open": "0, NVIDIA GeForce RTX 3060, 10935, 12288\n",
    "RTX 4090 24 GB + RTX 3060 12 GB": (
        "0, NVIDIA GeForce RTX 4090, 23782, 24564\n1, NVIDIA GeForce RTX 3060, 11840, 12288\n"
    ),
    "H100 80 GB": "0, NVIDIA H100 80GB HBM3, 81003, 81559\n",
    "driver error": "NVIDIA-SMI has failed because it couldn't communicate with the driver.\n",
    "no output": "",
}


def _vram(device: str, index: int | None = None) -> int | None:
    return free_vram(parse_smi_gpus(RECORDED[device]), index)


def test_gpus_are_read_from_nvidia_smi_output() -> None:
    assert SMI_FIELDS == "index,name,memory.free,memory.total"
    assert parse_smi_gpus(RECORDED["GTX 1650 4 GB, idle desktop"]) == [
        Gpu(0, "NVIDIA GeForce GTX 1650", 3721 * MIB, 4096 * MIB)
    ]
    two = parse_smi_gpus(RECORDED["RTX 4090 24 GB + RTX 3060 12 GB"])
    assert [gpu.describe() for gpu in two] == [
        "GPU 0: NVIDIA GeForce RTX 4090 (24.9 of 25.8 GB free)",
        "GPU 1: NVIDIA GeForce RTX 3060 (12.4 of 12.9 GB free)",
    ]
    assert parse_smi_gpus(RECORDED["driver error"]) == []
    assert parse_smi_gpus(RECORDED["no output"]) == []


def test_free_vram_is_the_chosen_gpus_or_all_together() -> None:
    assert _vram("RTX 4090 24 GB + RTX 3060 12 GB") == (23782 + 11840) * MIB  # layers split
    assert _vram("RTX 4090 24 GB + RTX 3060 12 GB", 1) == 11840 * MIB
    assert _vram("RTX 4090 24 GB + RTX 3060 12 GB", 2) is None  # no such GPU
    assert _vram("driver error") is None


def test_the_runtime_badge_names_backend_layers_and_gpu() -> None:
    assert describe_runtime("CPU", 0, None, None) == "CPU"
    assert describe_runtime("CPU", 0, None, "loading on CUDA failed") == "CPU (GPU load failed)"
    assert describe_runtime("CUDA", -1, None, None) == "CUDA · all layers"
    assert describe_runtime("CUDA", 18, 1, None) == "CUDA · 18 layers, the rest on the CPU · GPU 1"


def _tier_spec(tier: Tier, vram: int | None, n_ctx: int = 4096) -> LoadSpec:
    spec = tier.spec
    needed = spec.approx_file_bytes + spec.kv_cache_bytes(n_ctx) + COMPUTE_ALLOWANCE
    return LoadSpec(
        model_path="m.gguf",
        n_ctx=n_ctx,
        n_threads=4,
        vram_free=vram,
        memory_needed=needed,
        n_layers=spec.n_layers,
    )


@pytest.mark.parametrize(
    ("device", "tier", "expected"),
    [
        ("H100 80 GB", Tier.LARGE, -1),
        ("RTX 3060 12 GB, browser open", Tier.MEDIUM, -1),
        ("RTX 3060 12 GB, browser open", Tier.LARGE, -1),  # 10.1 GB needed, 10.3 GB room
        ("GTX 1650 4 GB, idle desktop", Tier.NANO, -1),
        ("GTX 1650 4 GB, idle desktop", Tier.SMALL, -1),
        ("GTX 1650 4 GB, idle desktop", Tier.MEDIUM, 18),  # (3.51 - 0.27) / 0.18 GB a layer
        ("GTX 1650 4 GB, idle desktop", Tier.LARGE, 15),
        ("driver error", Tier.NANO, 0),
    ],
)
def test_layers_offloaded_on_recorded_devices(device: str, tier: Tier, expected: int) -> None:
    spec = _tier_spec(tier, _vram(device))
    layers = choose_gpu_layers(spec, "CUDA")
    assert layers == expected
    if layers > 0:  # a partial offload must itself fit, with the headroom
        per_layer = (spec.memory_needed - COMPUTE_ALLOWANCE) / tier.spec.n_layers
        assert spec.vram_free is not None
        used = layers * per_layer + COMPUTE_ALLOWANCE
        assert used <= spec.vram_free * VRAM_HEADROOM


def test_a_longer_context_offloads_fewer_layers() -> None:
    vram = _vram("RTX 3060 12 GB, browser open")
    assert choose_gpu_layers(_tier_spec(Tier.LARGE, vram, n_ctx=4096), "CUDA") == -1
    long = choose_gpu_layers(_tier_spec(Tier.LARGE, vram, n_ctx=32768), "CUDA")
    assert 0 < long < Tier.LARGE.spec.n_layers


Attempt = tuple[int, int, int, bool]  # n_gpu_layers, main_gpu, split_mode, flash_attn


def _full_gpu(monkeypatch: pytest.MonkeyPatch, backend: str) -> list[Attempt]:
    """A build that claims `backend` and whose every GPU load runs out of memory; CPU loads
    are real. Returns the loads tried, in order."""
    import llama_cpp  # noqa: PLC0415

    real_llama = llama_cpp.Llama
    attempts: list[Attempt] = []

    def llama_on_a_full_gpu(*args: Any, **kwargs: Any) -> Any:
        attempts.append(
            (kwargs["n_gpu_layers"], kwargs["main_gpu"], kwargs["split_mode"], kwargs["flash_attn"])
        )
        if kwargs["n_gpu_layers"]:
            raise ValueError(f"Failed to load model from file: {backend} error: out of memory")
        return real_llama(*args, **kwargs)

    monkeypatch.setattr(runner_module, "gpu_backend", lambda: backend)
    monkeypatch.setattr(llama_cpp, "Llama", llama_on_a_full_gpu)
    return attempts


def test_llama_cpp_lists_its_devices_with_their_memory() -> None:
    devices = runner_module.llama_devices()  # the real registry of this (CPU-only) build
    cpu = next(device for device in devices if device.name == "CPU")
    assert not cpu.is_gpu and 0 < cpu.free <= cpu.total
    assert runner_module.gpu_free_memory(devices, None) is None


# llama.cpp's own device list on a machine with a Vulkan build (no NVML there).
VULKAN_DEVICES = [
    runner_module.Device("Vulkan0", "AMD Radeon RX 7800 XT", True, 15_600 * MIB, 16_368 * MIB),
    runner_module.Device("Vulkan1", "AMD Radeon RX 6600", True, 7_400 * MIB, 8_176 * MIB),
    runner_module.Device("CPU", "AMD Ryzen 7 7700X", False, 28_000 * MIB, 32_000 * MIB),
]


def test_gpus_nvml_does_not_know_are_measured_by_llama_cpp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runner_module.gpu_free_memory(VULKAN_DEVICES, None) == 23_000 * MIB
    assert runner_module.gpu_free_memory(VULKAN_DEVICES, 1) == 7_400 * MIB
    assert runner_module.gpu_free_memory(VULKAN_DEVICES, 2) is None  # the CPU is not a GPU
    attempts = _full_gpu(monkeypatch, "Vulkan")
    monkeypatch.setattr(runner_module, "llama_devices", lambda: VULKAN_DEVICES)
    runner = LlamaRunner()
    try:  # vram_free None: the app found no NVIDIA GPU
        spec = LoadSpec(model_path=str(starter_path()), n_ctx=512, n_threads=2, memory_needed=MIB)
        loaded = runner.ensure_loaded(spec)
        assert [layers for layers, *_ in attempts] == [-1, 0]  # it fitted: all layers tried
        assert loaded.gpu_fallback is not None and "Vulkan" in loaded.gpu_fallback
    finally:
        runner.unload()


def test_a_failed_gpu_load_falls_back_to_the_cpu_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp  # noqa: PLC0415

    attempts = _full_gpu(monkeypatch, "CUDA")
    runner = LlamaRunner()
    try:
        spec = LoadSpec(
            model_path=str(starter_path()),
            n_ctx=512,
            n_threads=2,
            vram_free=80 * 10**9,
            memory_needed=300 * MIB,
            n_layers=30,
            gpu_device=1,
        )
        loaded = runner.ensure_loaded(spec)
        one_gpu, every_gpu = llama_cpp.LLAMA_SPLIT_MODE_NONE, llama_cpp.LLAMA_SPLIT_MODE_LAYER
        assert attempts == [(-1, 1, one_gpu, True), (0, 0, every_gpu, True)]
        assert (loaded.backend, loaded.n_gpu_layers) == ("CPU", 0)
        assert loaded.gpu_fallback is not None
        assert loaded.gpu_fallback.startswith("loading on CUDA failed (llama.cpp could not load")
        assert (
            "out of memory" in loaded.gpu_fallback and "running on the CPU" in loaded.gpu_fallback
        )
        reused = runner.ensure_loaded(spec)  # the fallback is remembered with the loaded model
        assert reused.reused and reused.gpu_fallback == loaded.gpu_fallback
        events = list(
            runner.stream(
                [{"role": "user", "content": "Hi"}], SamplingParams(max_tokens=4), lambda: False
            )
        )
        assert any(isinstance(e, TokenText) and e.text for e in events)  # it really answers
    finally:
        runner.unload()
