"""`bizra bench`: the pipeline against bare llama.cpp on the same settings, the window's lag,
the rater's timings, speculative decoding, and the performance report."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from bizra_desktop.cli.console import EXIT_OK, non_negative_int, positive_int, print_json
from bizra_desktop.core.paths import data_paths

BENCH_MAX_TOKENS = 128


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser("bench", help="pipeline vs bare llama-cpp-python, same run")
    bench.add_argument("--model", type=Path, help="GGUF to measure (default: the starter model)")
    bench.add_argument("--max-tokens", type=positive_int, default=BENCH_MAX_TOKENS)
    bench.add_argument(
        "--rounds",
        type=positive_int,
        help="paired rounds per comparison (default: the number docs/PERFORMANCE.md names)",
    )
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--ui", action="store_true", help="measure the window's lag instead")
    bench.add_argument(
        "--analyzer", action="store_true", help="only time the prompt rater (no model runs)"
    )
    bench.add_argument("--ui-tokens", type=positive_int, default=1000)
    bench.add_argument(
        "--draft",
        action="store_true",
        help="decode speed with and without speculative decoding: --draft-model drafting for "
        "--model (default: the installed NANO for MEDIUM, else the starter model for a copy "
        "of itself) and prompt lookup on a rewrite workload",
    )
    bench.add_argument("--draft-model", type=Path, help="GGUF that drafts for --model")
    bench.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="measure every installed tier; write JSON, a PNG chart and PERFORMANCE.md into DIR",
    )
    bench.add_argument(
        "--llama-bench",
        type=Path,
        help="llama.cpp's llama-bench binary, for the native figures (default: the one "
        "scripts/build_llama_bench.sh builds, else one on PATH)",
    )
    bench.add_argument(
        "--contention",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="also measure quiet and beside N busy processes: the pipeline, and native "
        "llama-bench at every thread count",
    )
    bench.set_defaults(handler=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    # Heavy imports, only for the benchmark; the window's one loads Qt.
    if args.analyzer:
        from bizra_desktop.bench.measure import analyzer_timings  # noqa: PLC0415

        report = analyzer_timings()
    elif args.draft:
        from bizra_desktop.bench.draft import ROUNDS, run_draft_benchmark  # noqa: PLC0415

        report = run_draft_benchmark(
            data_paths(),
            args.model,
            args.draft_model,
            rounds=args.rounds or ROUNDS,
            max_tokens=args.max_tokens,
            progress=sys.stderr,
        )
    elif args.ui:
        from bizra_desktop.bench.window import run_ui_benchmark  # noqa: PLC0415

        report = run_ui_benchmark(args.ui_tokens)
    elif args.report:
        from bizra_desktop.bench.report import ReportConfig, run_report  # noqa: PLC0415

        config = ReportConfig(
            max_tokens=args.max_tokens,
            llama_bench=args.llama_bench,
            contention=args.contention,
            command=_bench_command(args),
            progress=sys.stderr,
        )
        if args.rounds is not None:
            config = replace(config, rounds=args.rounds)
        report = run_report(data_paths(), args.report, config)
    else:
        from bizra_desktop.bench.measure import ROUNDS, run_benchmark  # noqa: PLC0415

        report = run_benchmark(
            model_path=args.model,
            max_tokens=args.max_tokens,
            rounds=args.rounds or ROUNDS,
            progress=sys.stderr,
            llama_bench=args.llama_bench,
            spinners=args.contention,
        )
    if args.json:
        print_json(report, sys.stdout)
    else:
        for key, value in report.items():
            print(f"{key:>28}: {value}")
    return EXIT_OK


def _bench_command(args: argparse.Namespace) -> str:
    """The `bizra bench --report` command line that reproduces this report: the options given,
    the rest left to their defaults."""
    words = ["bizra", "bench", "--report", str(args.report)]
    if args.rounds is not None:
        words += ["--rounds", str(args.rounds)]
    if args.max_tokens != BENCH_MAX_TOKENS:
        words += ["--max-tokens", str(args.max_tokens)]
    if args.llama_bench is not None:
        words += ["--llama-bench", str(args.llama_bench)]
    if args.contention:
        words += ["--contention", str(args.contention)]
    return shlex.join(words)
