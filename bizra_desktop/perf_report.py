"""`bizra bench --report`: the performance report for every installed tier.

Per model: load time (first and again), time to first token, decode and prompt tokens/s,
peak memory of the inference host, the pipeline ÷ bare llama-cpp-python ratio measured in
the same run, and the memory-bandwidth bound with the fraction of it reached. Written as JSON,
a PNG chart and docs/PERFORMANCE.md.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bizra_desktop import __version__
from bizra_desktop.bench import ModelBench
from bizra_desktop.core.engine.protocol import SamplingParams, TokenText
from bizra_desktop.core.hardware import memory_budget, peak_memory, physical_cores
from bizra_desktop.core.models.store import ModelFile, ModelStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Loaded

LONG_PROMPT = "Summarise the following notes. " + " ".join(
    f"Note {n}: the shipment of crate {n} arrived at dock {n % 7} on time." for n in range(40)
)
BANDWIDTH_BYTES = 256 * 1024 * 1024


def memory_bandwidth() -> float:
    """Bytes/s of a large in-memory copy (read + write), the best of five."""
    import numpy as np  # noqa: PLC0415 - numpy comes with llama-cpp-python

    source = np.ones(BANDWIDTH_BYTES // 8, dtype=np.float64)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return 2 * BANDWIDTH_BYTES / best


def native_decode_rate(llama_bench: Path, model: ModelFile, threads: int) -> float | None:
    """tg128 tokens/s from llama.cpp's own llama-bench, or None if it cannot run."""
    try:
        output = subprocess.run(
            [
                str(llama_bench),
                "-m",
                str(model.path),
                "-t",
                str(threads),
                "-p",
                "0",
                "-n",
                "128",
                "-r",
                "3",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout
        return float(json.loads(output)[0]["avg_ts"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return None


def _prompt_rate(bench: ModelBench) -> float:
    """Prompt-processing tokens/s: a fresh long prompt, timed to its first generated token."""
    params = SamplingParams(temperature=0.0, max_tokens=1)
    started = time.perf_counter()
    done = None
    for event in bench.runner.stream(
        [{"role": "user", "content": LONG_PROMPT}], params, lambda: False
    ):
        if not isinstance(event, TokenText):
            done = event
    elapsed = time.perf_counter() - started
    assert done is not None
    return done.prompt_tokens / elapsed


def _load_times(bench: ModelBench) -> tuple[float, float]:
    """Load in a fresh host process, twice: the first may read the file from disk."""
    times: list[float] = []
    for _ in range(2):
        bench.pipeline.host.close()
        events = bench.pipeline.run("Hi", bench.options)
        times.extend(event.load_ms for event in events if isinstance(event, Loaded))
    return times[0], times[1]


@dataclass(frozen=True)
class ReportConfig:
    rounds: int = 3
    max_tokens: int = 128
    llama_bench: Path | None = None  # llama.cpp's own benchmark, for the native figure
    progress: TextIO | None = None


def measure(model: ModelFile, tier: str, bandwidth: float, config: ReportConfig) -> dict[str, Any]:
    with ModelBench(model, config.max_tokens, config.progress) as bench:
        row = {"tier": tier, **bench.compare(config.rounds)}
        row["load_ms_first"], row["load_ms_again"] = _load_times(bench)
        row["prompt_tokens_per_s"] = round(_prompt_rate(bench), 1)
        pid = bench.pipeline.host.pid
        row["peak_memory_mb"] = round((peak_memory(pid) or 0) / 1e6, 1) if pid else None
    bound = bandwidth / model.size_bytes
    row["model_mb"] = round(model.size_bytes / 1e6, 1)
    row["bandwidth_bound_tokens_per_s"] = round(bound, 1)
    row["fraction_of_bound"] = round(row["pipeline_tokens_per_s"] / bound, 3)
    native = (
        native_decode_rate(config.llama_bench, model, bench.threads) if config.llama_bench else None
    )
    row["native_tokens_per_s"] = round(native, 2) if native else None
    row["ratio_vs_native"] = round(row["pipeline_tokens_per_s"] / native, 4) if native else None
    return row


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            cpu = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                cpu,
            )
    except OSError:
        pass
    import llama_cpp  # noqa: PLC0415

    return {
        "cpu": cpu,
        "physical_cores": physical_cores(),
        "ram_free_gb": round(memory_budget().ram_available / 1e9, 1),
        "gpu": "none" if memory_budget().vram_free is None else "NVIDIA (see backend)",
        "gpu_offload_build": bool(llama_cpp.llama_supports_gpu_offload()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "llama_cpp_python": llama_cpp.__version__,
        "bizra_desktop": __version__,
    }


def run_report(paths: DataPaths, out: Path, config: ReportConfig) -> dict[str, Any]:
    store = ModelStore(paths.models)
    models: list[tuple[str, ModelFile]] = [(t.name, m) for t, m in store.installed().items()]
    starter = store.starter()
    if starter is not None:
        models.insert(0, ("starter", starter))
    if config.llama_bench is None and (found := shutil.which("llama-bench")):
        config = replace(config, llama_bench=Path(found))
    bandwidth = memory_bandwidth()
    rows = [measure(model, tier, bandwidth, config) for tier, model in models]
    report = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "memory_bandwidth_gb_s": round(bandwidth / 1e9, 2),
        "llama_bench": str(config.llama_bench) if config.llama_bench else None,
        "models": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "performance.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    from bizra_desktop.ui.perf_chart import render_chart  # noqa: PLC0415 - Qt only for the PNG

    render_chart(rows, out / "performance.png")
    (out / "PERFORMANCE.md").write_text(markdown(report), encoding="utf-8")
    return report


def markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    lines = [
        "# Performance",
        "",
        f"Generated {report['generated']} by `bizra bench --report` (BIZRA Desktop "
        f"{info['bizra_desktop']}, llama-cpp-python {info['llama_cpp_python']}).",
        "",
        f"Machine: {info['cpu']}, {info['physical_cores']} physical cores, "
        f"{info['ram_free_gb']} GB RAM free, {info['os']}. GPU offload in this build: "
        f"{'yes' if info['gpu_offload_build'] else 'no'}; GPU: {info['gpu']}. Measured memory "
        f"bandwidth (copy): {report['memory_bandwidth_gb_s']} GB/s.",
        "",
        "| model | tier | load first / again (ms) | TTFT (ms) | decode tok/s | prompt tok/s "
        "| peak MB | pipeline ÷ bare | bound tok/s | of bound | native tok/s | ÷ native |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["models"]:
        lines.append(
            f"| {row['model']} | {row['tier']} | {row['load_ms_first']:.0f} / "
            f"{row['load_ms_again']:.0f} | {row['pipeline_ttft_ms']:.0f} | "
            f"{row['pipeline_tokens_per_s']} | {row['prompt_tokens_per_s']} | "
            f"{row['peak_memory_mb']} | {row['decode_ratio']} | "
            f"{row['bandwidth_bound_tokens_per_s']} | {row['fraction_of_bound']:.0%} | "
            f"{row['native_tokens_per_s'] or '—'} | {row['ratio_vs_native'] or '—'} |"
        )
    lines += [
        "",
        "![tokens/s per tier](performance.png)",
        "",
        "Decode tok/s is the pipeline's (child-process host, streaming); pipeline ÷ bare divides "
        "it by an in-process `create_chat_completion(stream=True)` loop on the same model in the "
        "same run. The bound is memory bandwidth ÷ model bytes: decoding reads every weight "
        "once per token. Far below the bound means compute-bound (few cores) rather than "
        "memory-bound.",
        "",
    ]
    if not info["gpu_offload_build"]:
        lines.append(
            "No GPU was available where these figures were taken: they are CPU figures. "
            "GPU offload is decided automatically (see README) but has no measured figures here."
        )
    return "\n".join(lines) + "\n"
