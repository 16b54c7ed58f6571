"""GPU offload decisions against recorded device descriptions, and the CPU fallback.

No GPU exists on the test machines: the device side is recorded `nvidia-smi` output and, for the
fallback, a build that claims CUDA and fails to load on it. The CPU load that follows is real.
"""

from __future__ import annotations

from typing import Any

import pytest

from bizra_desktop.core.engine import runner as runner_module
from bizra_desktop.core.engine.protocol import LoadSpec, SamplingParams, TokenText
from bizra_desktop.core.engine.runner import LlamaRunner, choose_gpu_layers
from bizra_desktop.core.hardware import parse_smi_free
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path

MIB = 1024 * 1024
# `nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits` on real cards.
RECORDED = {
    "GTX 1650 4 GB, idle desktop": "3721\n",
    "RTX 3060 12 GB, browser open": "10935\n",
    "RTX 4090 24 GB, two GPUs": "23782\n24010\n",
    "H100 80 GB": "81003\n",
    "driver error": "NVIDIA-SMI has failed because it couldn't communicate with the driver.\n",
    "no output": "",
}


def test_free_vram_is_read_from_nvidia_smi_output() -> None:
    assert parse_smi_free(RECORDED["GTX 1650 4 GB, idle desktop"]) == 3721 * MIB
    assert parse_smi_free(RECORDED["RTX 4090 24 GB, two GPUs"]) == 23782 * MIB  # first GPU
    assert parse_smi_free(RECORDED["driver error"]) is None
    assert parse_smi_free(RECORDED["no output"]) is None


def _tier_spec(tier: Tier, vram: int | None, n_ctx: int = 4096) -> LoadSpec:
    spec = tier.spec
    needed = (
        spec.approx_file_bytes + spec.kv_cache_bytes(n_ctx) + runner_module.COMPUTE_BUFFER_BYTES
    )
    return LoadSpec("m.gguf", n_ctx, 4, None, vram, needed, spec.n_layers)


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
    spec = _tier_spec(tier, parse_smi_free(RECORDED[device]))
    layers = choose_gpu_layers(spec, "CUDA")
    assert layers == expected
    if layers > 0:  # a partial offload must itself fit, with the headroom
        per_layer = (spec.memory_needed - runner_module.COMPUTE_BUFFER_BYTES) / tier.spec.n_layers
        assert spec.vram_free is not None
        used = layers * per_layer + runner_module.COMPUTE_BUFFER_BYTES
        assert used <= spec.vram_free * runner_module.VRAM_HEADROOM


def test_a_longer_context_offloads_fewer_layers() -> None:
    vram = parse_smi_free(RECORDED["RTX 3060 12 GB, browser open"])
    assert choose_gpu_layers(_tier_spec(Tier.LARGE, vram, n_ctx=4096), "CUDA") == -1
    long = choose_gpu_layers(_tier_spec(Tier.LARGE, vram, n_ctx=32768), "CUDA")
    assert 0 < long < Tier.LARGE.spec.n_layers


def test_a_failed_gpu_load_falls_back_to_the_cpu_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp  # noqa: PLC0415

    real_llama = llama_cpp.Llama
    attempts: list[int] = []

    def llama_on_a_full_gpu(*args: Any, **kwargs: Any) -> Any:
        attempts.append(kwargs["n_gpu_layers"])
        if kwargs["n_gpu_layers"]:
            raise ValueError("Failed to load model from file: CUDA error: out of memory")
        return real_llama(*args, **kwargs)

    monkeypatch.setattr(runner_module, "gpu_backend", lambda: "CUDA")
    monkeypatch.setattr(llama_cpp, "Llama", llama_on_a_full_gpu)
    runner = LlamaRunner()
    try:
        spec = LoadSpec(str(starter_path()), 512, 2, None, 80 * 10**9, 300 * MIB, 30)
        loaded = runner.ensure_loaded(spec)
        assert attempts == [-1, 0]
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
