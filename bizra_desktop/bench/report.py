"""`bizra bench --report`: the performance report for every installed tier.

Per model: load time (first and again), time to first token, decode and prompt tokens/s,
peak memory of the inference host, the pipeline ÷ bare llama-cpp-python ratio measured in
the same run, and the memory-bandwidth bound with the fraction of it reached; then the
speculative decoding figures of `bizra bench --draft`. Written as JSON, a PNG chart and
docs/PERFORMANCE.md.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bizra_desktop import __version__
from bizra_desktop.bench.draft import run_draft_benchmark
from bizra_desktop.bench.measure import (
    BUILT_LLAMA_BENCH,
    ROUNDS,
    ModelBench,
    find_llama_bench,
    llama_bench_hint,
)
from bizra_desktop.core.engine.protocol import SamplingParams, TokenText
from bizra_desktop.core.hardware import list_gpus, memory_budget, peak_memory, physical_cores
from bizra_desktop.core.models.store import ModelFile, ModelStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Loaded

LONG_PROMPT = "Summarise the following notes. " + " ".join(
    f"Note {n}: the shipment of crate {n} arrived at dock {n % 7} on time." for n in range(40)
)
BANDWIDTH_BYTES = 256 * 1024 * 1024
# Decoding that reads weights near the copy bandwidth has no faster way; decoding that gains
# nearly n-fold from n threads waits on arithmetic, not memory.
MEMORY_BOUND_FRACTION = 0.7
COMPUTE_BOUND_EFFICIENCY = 0.7


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


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportConfig:
    rounds: int = ROUNDS
    max_tokens: int = 128
    llama_bench: Path | None = None  # llama.cpp's own benchmark, for the native figure
    contention: int = 0  # busy processes beside the contenders for the contention figures
    command: str = "bizra bench --report docs"  # what made the report, as the page names it
    progress: TextIO | None = None


def measure(
    model: ModelFile, tier: str, bandwidth: float, config: ReportConfig, speed_changes: bool
) -> dict[str, Any]:
    with ModelBench(model, config.max_tokens, config.progress) as bench:
        row = {"tier": tier, **bench.compare(config.rounds)}
        if speed_changes:
            row["speed_changes"] = bench.speed_changes(config.rounds, bench.multi_turn())
        row["load_ms_first"], row["load_ms_again"] = _load_times(bench)
        row["prompt_tokens_per_s"] = round(_prompt_rate(bench), 1)
        pid = bench.pipeline.host.pid
        row["peak_memory_mb"] = round((peak_memory(pid) or 0) / 1e6, 1) if pid else None
        # Contention is measured on the first (smallest) model only, as the speed changes.
        spinners = config.contention if speed_changes else 0
        row |= bench.native_and_contention(config.llama_bench, config.rounds, spinners)
    bound = bandwidth / model.size_bytes
    row["model_mb"] = round(model.size_bytes / 1e6, 1)
    row["bandwidth_bound_tokens_per_s"] = round(bound, 1)
    row["fraction_of_bound"] = round(row["pipeline_tokens_per_s"] / bound, 3)
    row["bound"] = _bound_kind(
        row.get("speed_changes", []), row["threads"], row["fraction_of_bound"]
    )
    return row


def _bound_kind(
    changes: list[dict[str, Any]], threads: int, fraction_of_bound: float
) -> str | None:
    """Memory-bound when decoding comes close to the bandwidth bound; compute-bound when it
    speeds up nearly in step with threads; otherwise neither limit is reached."""
    scaling = next((c["speedup"] for c in changes if c["key"] == "threads"), None)
    if scaling is None:
        return None
    if fraction_of_bound >= MEMORY_BOUND_FRACTION:
        kind = "memory-bound"
    elif scaling / threads >= COMPUTE_BOUND_EFFICIENCY:
        kind = "compute-bound"
    else:
        kind = "bound by neither memory nor compute alone"
    return (
        f"{kind}: {fraction_of_bound:.0%} of the bandwidth bound, "
        f"{scaling:.2f}x faster on {threads} threads than on 1"
    )


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
        "gpu": ", ".join(gpu.describe() for gpu in list_gpus()) or "none found",
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
    llama_bench = find_llama_bench(config.llama_bench)
    config = dataclasses.replace(config, llama_bench=llama_bench)
    bandwidth = memory_bandwidth()
    # The alternatives to each speed choice are measured on the first (smallest) model only.
    rows = [
        measure(model, tier, bandwidth, config, speed_changes=index == 0)
        for index, (tier, model) in enumerate(models)
    ]
    drafting = run_draft_benchmark(
        paths, rounds=config.rounds, max_tokens=config.max_tokens, progress=config.progress
    )
    report = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "memory_bandwidth_gb_s": round(bandwidth / 1e9, 2),
        "command": config.command,
        "rounds": config.rounds,
        "max_tokens": config.max_tokens,
        "llama_bench": str(config.llama_bench) if config.llama_bench else None,
        "models": rows,
        "drafting": drafting,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "performance.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    from bizra_desktop.bench.chart import (  # noqa: PLC0415 - Qt only for the PNGs
        render_chart,
        render_contention_chart,
    )

    render_chart(rows, out / "performance.png")
    if rows and rows[0].get("contention"):
        render_contention_chart(rows[0], out / "performance-contention.png")
    (out / "PERFORMANCE.md").write_text(markdown(report), encoding="utf-8")
    return report


def _native_cell(row: dict[str, Any]) -> str:
    """Native tok/s beside the pipeline's from the same rounds (the ratio divides those two)."""
    if not row.get("native_tokens_per_s"):
        return "—"
    return f"{row['native_tokens_per_s']} (pipeline {row['paired_pipeline_tokens_per_s']})"


def _contention_section(row: dict[str, Any]) -> list[str]:
    figures = row.get("contention")
    if not figures:
        return []
    spinners = figures["spinning_processes"]
    lines = [
        f"### Beside {spinners} busy process{'es' if spinners > 1 else ''}",
        "",
        f"{row['model']}, decode tok/s with nothing else running (quiet) and with {spinners} "
        f"process{'es' if spinners > 1 else ''} spinning on a core each (loaded), taking turns "
        "in the same "
        f"{figures['rounds']} rounds (medians). Pipeline: the app's automatic thread count "
        "(at most one per physical core, fewer while other processes keep cores busy); "
        f"fixed: always {row['threads']} threads.",
        "",
        "| contender | quiet | loaded |",
        "|---|---|---|",
        f"| pipeline (automatic threads) | {figures['pipeline_quiet_tokens_per_s']} | "
        f"{figures['pipeline_loaded_tokens_per_s']} |",
        f"| pipeline ({row['threads']} threads, fixed) | "
        f"{figures['pipeline_fixed_threads_quiet_tokens_per_s']} | "
        f"{figures['pipeline_fixed_threads_loaded_tokens_per_s']} |",
        *(
            f"| native llama-bench, {n['threads']} thread{'s' if n['threads'] > 1 else ''} | "
            f"{n['quiet_tokens_per_s']} | {n['loaded_tokens_per_s']} |"
            for n in figures.get("native", [])
        ),
        "",
        "Ratios, each the median of the rounds' own ratios:",
        "",
    ]
    if "loaded_ratio_vs_best_native" in figures:
        lines += [
            f"- loaded: pipeline ÷ the best native thread count under the same load "
            f"({figures['best_native_threads_loaded']}): "
            f"**{figures['loaded_ratio_vs_best_native']}** (target ≥ 0.9)",
            f"- quiet: pipeline ÷ the best native thread count "
            f"({figures['best_native_threads_quiet']}): {figures['quiet_ratio_vs_best_native']}",
        ]
    lines += [
        f"- quiet: automatic ÷ fixed threads: **{figures['quiet_ratio_vs_fixed_threads']}** "
        "(what adapting costs when nothing competes; target ≥ 0.95)",
        f"- loaded: automatic ÷ fixed threads: {figures['loaded_ratio_vs_fixed_threads']}",
        "",
        "![quiet and loaded decode speed](performance-contention.png)",
        "",
    ]
    return lines


def _speed_section(row: dict[str, Any]) -> list[str]:
    lines = []
    if row.get("bound"):
        lines += [f"**{row['model']}** is {row['bound']}.", ""]
    if row.get("speed_changes"):
        lines += [
            f"Speed choices on {row['model']}, each measured against its alternative in this "
            "run, taking turns (without and with: medians; speedup: the median of the rounds' "
            "ratios):",
            "",
            "| change | metric | without | with | speedup |",
            "|---|---|---|---|---|",
            *(
                f"| {c['change']} | {c['metric']} | {c['before']} | {c['after']} | "
                f"{c['speedup']:.3f}x |"
                for c in row["speed_changes"]
            ),
            "",
        ]
    return lines


_DRAFT_RUNS = (
    ("draft_model", "draft model ({draft} → {target})", "general prompts"),
    ("prompt_lookup_rewrite", "prompt lookup", "rewrite prompts"),
    ("prompt_lookup_general", "prompt lookup", "general prompts"),
)


def _drafting_section(drafting: dict[str, Any]) -> list[str]:
    """The `bizra bench --draft` figures of this run."""
    lines = [
        "### Speculative decoding",
        "",
        f"Decoding with and without drafts (`bizra bench --draft`, in this run: "
        f"{drafting['pairing']}), greedy, {drafting['max_tokens']} tokens an answer, "
        f"{drafting['rounds']} paired rounds taking turns (tok/s: medians; speed-up: the median "
        "of the rounds' ratios). Acceptance is the share of drafted tokens the answering model "
        "kept; identical says whether every answer was the same token for token as without "
        "drafts.",
        "",
        "| drafter | workload | without tok/s | with tok/s | speed-up | acceptance | identical |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, drafter, workload in _DRAFT_RUNS:
        run = drafting[key]
        name = drafter.format(draft=drafting["draft"], target=drafting["target"])
        acceptance = "—" if run["acceptance"] is None else f"{run['acceptance']:.2f}"
        lines.append(
            f"| {name} | {workload} ({run['prompts']}) | {run['plain_tokens_per_s']} | "
            f"{run['drafted_tokens_per_s']} | {run['speedup']:.3f}x | {acceptance} | "
            f"{'yes' if run['identical'] else '**no**'} |"
        )
    return [*lines, ""]


def _shown_path(path: str) -> str:
    """A path inside the repository as the repository names it (build/...), others whole."""
    root = BUILT_LLAMA_BENCH.parents[2]
    return str(Path(path).relative_to(root)) if Path(path).is_relative_to(root) else path


def markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    native = report["llama_bench"]
    lines = [
        "# Performance",
        "",
        f"Generated {report['generated']} by `{report['command']}` (BIZRA Desktop "
        f"{info['bizra_desktop']}, llama-cpp-python {info['llama_cpp_python']}); running that "
        f"command again regenerates this page, its JSON and charts ({report['rounds']} rounds, "
        f"{report['max_tokens']} tokens an answer).",
        "",
        f"Machine: {info['cpu']}, {info['physical_cores']} physical cores, "
        f"{info['ram_free_gb']} GB RAM free, {info['os']}. GPU offload in this build: "
        f"{'yes' if info['gpu_offload_build'] else 'no'}; GPU: {info['gpu']}. Measured memory "
        f"bandwidth (copy): {report['memory_bandwidth_gb_s']} GB/s. Native figures: "
        + (f"`{_shown_path(native)}`." if native else f"none — {llama_bench_hint()}."),
        "",
        "| model | tier | load first / again (ms) | TTFT (ms) | decode tok/s | prompt tok/s "
        "| peak MB | ÷ bare, same settings | bound tok/s | of bound "
        "| native tok/s (pipeline, same rounds) | ÷ native |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["models"]:
        lines.append(
            f"| {row['model']} | {row['tier']} | {row['load_ms_first']:.0f} / "
            f"{row['load_ms_again']:.0f} | {row['pipeline_ttft_ms']:.0f} | "
            f"{row['pipeline_tokens_per_s']} | {row['prompt_tokens_per_s']} | "
            f"{row['peak_memory_mb']} | {row['decode_ratio_same_settings']} | "
            f"{row['bandwidth_bound_tokens_per_s']} | {row['fraction_of_bound']:.0%} | "
            f"{_native_cell(row)} | {row.get('native_ratio') or '—'} |"
        )
    lines += [
        "",
        "![tokens/s per tier](performance.png)",
        "",
        "Decode tok/s is the pipeline's: the app's own path (routing, receipts, the inference "
        "host in a child process, streaming, the automatic thread count). ÷ bare, same settings "
        "divides it by llama-cpp-python in this process, `create_chat_completion(stream=True)` "
        "with the pipeline's settings: flash attention, the same sampler chain, threads, "
        "context and batch (target ≥ 0.97). llama-cpp-python with its own defaults (flash "
        "attention off, its penalty sampler) is `decode_ratio_vs_defaults` in the JSON; what "
        "each of those choices adds is the table of speed choices below. Native is llama.cpp's "
        "own `llama-bench` tg128, built from the source llama-cpp-python vendors "
        "(`scripts/build_llama_bench.sh`), on the same threads, started as deep into the "
        "context as the pipeline's prompt (`-d`); it decodes without sampling or detokenizing. "
        "One native run and one pipeline answer take turns each round; ÷ native is the median "
        "of the rounds' ratios (target ≥ 0.95; each round's figures and the figure on an empty "
        "context are in the JSON). All ratios are medians of paired rounds: this machine's "
        "speed drifts by 10 % from minute to minute, and each round's runs share that minute. "
        "The bound is memory bandwidth ÷ model bytes: decoding reads every weight once per "
        "token.",
        "",
    ]
    for row in report["models"]:
        lines += _speed_section(row)
        lines += _contention_section(row)
    lines += _drafting_section(report["drafting"])
    if not info["gpu_offload_build"]:
        lines.append(
            "No GPU was available where these figures were taken: they are CPU figures. "
            "GPU offload is decided automatically (see README) but has no measured figures here."
        )
    return "\n".join(lines) + "\n"
