"""How well the TaskAnalyzer rates the labelled prompts, and how fast.

Run: python benchmarks/analyzer_accuracy.py [path/to/labelled.jsonl]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bizra_desktop.core.analyzer import TaskAnalyzer
from bizra_desktop.core.tiers import Complexity

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "tests/core/data/analyzer_labelled.jsonl"
SPLITS = ("dev", "holdout", "all")


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _figures(pairs: list[tuple[Complexity, Complexity]]) -> dict[str, float]:
    """Exact and within-one accuracy, and the share rated two or more levels too low."""
    n = len(pairs)
    return {
        "n": n,
        "exact": sum(got == want for want, got in pairs) / n,
        "within_one": sum(abs(got - want) <= 1 for want, got in pairs) / n,
        "two_too_low": sum(want - got >= 2 for want, got in pairs) / n,
    }


def accuracy_report(path: Path = DEFAULT_PATH, repeats: int = 20) -> dict[str, Any]:
    """Figures per split, the confusion matrix (rows: label, columns: rating) and timings."""
    analyzer = TaskAnalyzer()
    rows = load(path)
    pairs: dict[str, list[tuple[Complexity, Complexity]]] = {s: [] for s in SPLITS}
    confusion = [[0] * len(Complexity) for _ in Complexity]
    misses = []
    times: list[float] = []
    for row in rows:
        want = Complexity.parse(row["complexity"])
        got = analyzer.analyze(row["prompt"]).complexity
        for split in (row["split"], "all"):
            pairs[split].append((want, got))
        confusion[want][got] += 1
        if got != want:
            misses.append(
                {
                    "prompt": row["prompt"],
                    "split": row["split"],
                    "label": want.label,
                    "rating": got.label,
                }
            )
        for _ in range(repeats):
            start = time.perf_counter()
            analyzer.analyze(row["prompt"])
            times.append(time.perf_counter() - start)
    cuts = statistics.quantiles(times, n=100)
    return {
        **{split: _figures(pairs[split]) for split in SPLITS},
        "confusion": confusion,
        "misses": misses,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = accuracy_report(Path(args[0]) if args else DEFAULT_PATH)
    for split in SPLITS:
        f = report[split]
        print(
            f"{split:8} n={f['n']:3}  exact {f['exact']:.3f}  within-one {f['within_one']:.3f}"
            f"  two-or-more-too-low {f['two_too_low']:.3f}"
        )
    print("\nconfusion (rows: label, columns: rating)")
    print(" " * 10 + "".join(f"{c.label:>10}" for c in Complexity))
    for c, row in zip(Complexity, report["confusion"], strict=True):
        print(f"{c.label:>10}" + "".join(f"{v:10}" for v in row))
    print(f"\nanalyze time: p50 {report['p50_ms']:.3f} ms, p99 {report['p99_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
