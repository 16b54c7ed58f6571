#!/usr/bin/env python3
"""How well the prompt rater routes, measured honestly; rewrites docs/ROUTING.md's results.

    .venv/bin/python benchmarks/routing_eval.py [--quick] [--json OUT] [--no-write]
    .venv/bin/python benchmarks/routing_eval.py --sources A,B [--parts DIR]

- Leave-one-source-out: for each source, a rater trained without it (its own held-out cut
  points and spread too) rates it. That is the figure for prompts unlike the training data.
- The proxy checks of issue #13: MMLU strong-model-only vs both-right (AUC of the score, on
  5-fold held-out scores: the subject is known, the question is not), GSM8K rated moderate or
  harder and the rank correlation with solution steps, translations rated as their English
  original, one more FollowBench constraint never rating lower.
- The tricky hand-written hold-out (never trained on) and the five seed rows, with the shipped
  weights.
- The compute curve: per preference, the share of prompts routed below their label against
  the compute spent (tier parameters × tokens) relative to always using the largest tier.
- Label consistency: the second annotation pass against the first, and against the proxies.

`--quick` skips leave-one-source-out (seconds instead of minutes). Deterministic.

In parts (each run under a CPU budget): `--sources A,B` retrains only without A and without B,
saves each source's left-out row scores and levels to `--parts` (build/routing-eval-parts/
SOURCE.json, keyed by row id) and prints those sources' figures; nothing else runs and the page
is left alone. A full run given `--parts DIR` reads every part saved there instead of
retraining that source (and saves the parts it had to compute), so once each source has a part
it costs what `--quick` does and rewrites the page from all of them. A part whose row ids or
training code (scripts/rater_lab.py, core/routing/) no longer match stops the run: delete it
and rerun.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from rater_lab import (  # noqa: E402
    DATA,
    LEVELS,
    Featurized,
    Row,
    folds_of,
    held_out_scores,
    load_training_rows,
    load_translations,
    load_tricky_holdout,
    model_scores,
    row_weights,
    train,
    translation_pairs,
)

from bizra_desktop.bench.measure import analyzer_timings  # noqa: E402
from bizra_desktop.core.routing.model import RaterModel, shipped_model  # noqa: E402
from bizra_desktop.core.routing.preference import Preference  # noqa: E402
from bizra_desktop.core.routing.rater import Rater  # noqa: E402
from bizra_desktop.core.tiers import TIER_FOR_COMPLEXITY, Complexity  # noqa: E402

DOC = ROOT / "docs" / "ROUTING.md"
# Each left-out source's row scores, from `--sources` runs (build/ is not committed).
PARTS = ROOT / "build" / "routing-eval-parts"
BEGIN, END = "<!-- routing-eval:begin -->", "<!-- routing-eval:end -->"
SEED_ROWS = (
    ("Hello!", "trivial"),
    ("What is entropy?", "simple"),
    ("Explain how a bicycle stays upright.", "moderate"),
    ("Analyze the causes of inflation in 2022.", "complex"),
    ("Design a URL shortening service for 100 million users.", "expert"),
)
# Billions of parameters per tier, and the answer length a level typically needs (tokens):
# what the compute curve counts. LARGE is the 14B tier.
TIER_PARAMS = {0: 0.5, 1: 1.5, 2: 3.0, 3: 7.0, 4: 14.0}
ANSWER_TOKENS = {0: 30, 1: 120, 2: 300, 3: 500, 4: 800}


def figures(labels: Sequence[int], rated: Sequence[int]) -> dict[str, float]:
    gaps = np.array(rated) - np.array(labels)
    n = len(gaps)
    return {
        "n": n,
        "exact": float(np.mean(gaps == 0)) if n else 0.0,
        "within_one": float(np.mean(np.abs(gaps) <= 1)) if n else 0.0,
        "two_too_low": float(np.mean(gaps <= -2)) if n else 0.0,
        "two_too_high": float(np.mean(gaps >= 2)) if n else 0.0,
    }


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counting half (Mann-Whitney)."""
    values = np.concatenate([positive, negative])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = len(positive)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * len(negative)))


def levels_of(model: RaterModel, scores: np.ndarray, preference: Preference) -> np.ndarray:
    return np.searchsorted(np.array(model.cut_points[preference]), scores, side="right")


def proxy_checks(rows: Sequence[Row], scores: np.ndarray, rated: np.ndarray) -> dict[str, Any]:
    """The issue's table, on scores of rows the rater did not train on."""
    mmlu = [(i, r) for i, r in enumerate(rows) if "strong_right" in r.extra and r.source != "gsm8k"]
    strong_only = [
        scores[i] for i, r in mmlu if r.extra["strong_right"] and not r.extra["weak_right"]
    ]
    both = [scores[i] for i, r in mmlu if r.extra["strong_right"] and r.extra["weak_right"]]
    strong_only_levels = [
        rated[i] for i, r in mmlu if r.extra["strong_right"] and not r.extra["weak_right"]
    ]
    both_levels = [rated[i] for i, r in mmlu if r.extra["strong_right"] and r.extra["weak_right"]]
    gsm = [(i, r) for i, r in enumerate(rows) if r.source == "gsm8k"]
    steps = [r.extra["steps"] for _, r in gsm]
    chains: dict[str, dict[int, int]] = defaultdict(dict)
    for i, r in enumerate(rows):
        if "chain" in r.extra:
            chains[r.extra["chain"]][r.extra["level"]] = int(rated[i])
    kept = [
        chain[level + 1] >= chain[level]
        for chain in chains.values()
        for level in chain
        if level + 1 in chain
    ]
    return {
        "mmlu_auc_score": auc(strong_only, both) if strong_only and both else None,
        "mmlu_auc_rating": auc(strong_only_levels, both_levels) if strong_only else None,
        "mmlu_pairs": [len(strong_only), len(both)],
        "gsm8k_moderate_or_harder": float(np.mean([rated[i] >= 2 for i, _ in gsm]))
        if gsm
        else None,
        "gsm8k_spearman_score_steps": float(spearmanr([scores[i] for i, _ in gsm], steps)[0])
        if gsm
        else None,
        "gsm8k_spearman_rating_steps": float(spearmanr([rated[i] for i, _ in gsm], steps)[0])
        if gsm
        else None,
        "constraint_step_not_lower": float(np.mean(kept)) if kept else None,
        "constraint_steps": len(kept),
    }


def _agreement(pairs: list[tuple[int, int]]) -> dict[str, float]:
    gaps = [abs(a - b) for a, b in pairs]
    return {
        "n": len(pairs),
        "exact": float(np.mean([g == 0 for g in gaps])),
        "within_one": float(np.mean([g <= 1 for g in gaps])),
    }


def translation_checks(
    rater: Rater, training: Sequence[Row], held_rated: np.ndarray
) -> dict[str, Any]:
    """The evaluation translations rated by the shipped rater (`by_set`, `by_language`), and
    the training translations with their originals, each pair rated from 5-fold held-out
    scores (`held_out`): four times the evaluation's originals, so one original moves that
    figure far less (a pair shares its fold, so neither was trained on)."""
    originals = {row.id: row.prompt for row in training}
    by_language: dict[str, list[tuple[int, int]]] = defaultdict(list)
    by_set: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for item in load_translations():
        english = rater.rate(originals[item["id"]]).complexity
        translated = rater.rate(item["prompt"]).complexity
        by_language[item["lang"]].append((english, translated))
        by_set[item["set"]].append((english, translated))
    return {
        "by_set": {k: _agreement(v) for k, v in sorted(by_set.items())},
        "by_language": {k: _agreement(v) for k, v in sorted(by_language.items())},
        "held_out": held_out_pair_agreement(training, held_rated),
    }


def held_out_pair_agreement(
    training: Sequence[Row], held_rated: np.ndarray
) -> dict[str, dict[str, float]]:
    """The training translations against their originals, both rated from held-out scores,
    for the chat prompts and for GSM8K's."""
    pairs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for original, translation in translation_pairs(training):
        kind = "gsm8k" if training[original].source == "gsm8k" else "chat"
        pairs[kind].append((int(held_rated[original]), int(held_rated[translation])))
    return {k: _agreement(v) for k, v in sorted(pairs.items())}


def compute_curve(
    rows: Sequence[Row], model: RaterModel, scores: np.ndarray
) -> list[dict[str, Any]]:
    weights = row_weights(rows)
    labels = np.array([r.level for r in rows])
    largest = np.array([TIER_PARAMS[4] * ANSWER_TOKENS[r.level] for r in rows])
    curve = []
    for preference in Preference:
        rated = levels_of(model, scores, preference)
        tiers = np.array([TIER_FOR_COMPLEXITY[Complexity(int(level))] for level in rated])
        spent = np.array(
            [TIER_PARAMS[int(t)] * ANSWER_TOKENS[r.level] for t, r in zip(tiers, rows, strict=True)]
        )
        curve.append(
            {
                "preference": preference.value,
                "under_routed": float(np.sum(weights * (rated < labels)) / np.sum(weights)),
                "two_too_low": float(np.sum(weights * (rated <= labels - 2)) / np.sum(weights)),
                "compute_vs_largest": float(np.sum(weights * spent) / np.sum(weights * largest)),
            }
        )
    return curve


def label_consistency(rows: Sequence[Row]) -> dict[str, Any]:
    first = {r.id: r for r in rows}
    path = DATA / "annotations" / "second_pass.jsonl"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as f:
        second = [json.loads(line) for line in f if line.strip()]
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for item in second:
        row = first[item["id"]]
        kind = "rubric" if row.extra["label_by"].startswith("rubric") else "proxy"
        groups[kind].append((row.level, LEVELS.index(item["label"])))
    return {kind: kappa(pairs) for kind, pairs in sorted(groups.items())}


def kappa(pairs: list[tuple[int, int]]) -> dict[str, float]:
    """Agreement, within-one agreement, Cohen's kappa and linearly weighted kappa."""
    n = len(pairs)
    k = len(LEVELS)
    table = np.zeros((k, k))
    for a, b in pairs:
        table[a, b] += 1
    observed = np.trace(table) / n
    rows_, cols = table.sum(1) / n, table.sum(0) / n
    expected = float(rows_ @ cols)
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    weighted_observed = float((table / n * distance).sum())
    weighted_expected = float((np.outer(rows_, cols) * distance).sum())
    return {
        "n": n,
        "agreement": float(observed),
        "within_one": float(np.mean([abs(a - b) <= 1 for a, b in pairs])),
        "kappa": float((observed - expected) / (1 - expected)),
        "weighted_kappa": 1 - weighted_observed / weighted_expected,
    }


def left_out(
    rows: Sequence[Row], features: Featurized, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and balanced levels of one source's rows, from a rater trained without it."""
    test = np.array([r.source == source for r in rows])
    train_rows = [r for r, keep in zip(rows, ~test, strict=True) if keep]
    model = train(train_rows, features=features.rows(~test))
    scores = model_scores(model, features.rows(test))
    return scores, levels_of(model, scores, Preference.BALANCED)


def trainer_digest() -> str:
    """The training code's fingerprint (the trainer and the features, model and rater it
    trains): a part made by other code must not be merged."""
    digest = hashlib.sha256()
    routing = ROOT / "bizra_desktop" / "core" / "routing"
    for path in [ROOT / "scripts" / "rater_lab.py", *sorted(routing.glob("*.py"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def part_path(parts: Path, source: str) -> Path:
    return parts / f"{source}.json"


def save_part(
    parts: Path, rows: Sequence[Row], source: str, scores: np.ndarray, rated: np.ndarray
) -> None:
    """One source's left-out figures, keyed by row id so a later run can check they still fit."""
    parts.mkdir(parents=True, exist_ok=True)
    part = {
        "source": source,
        "trainer": trainer_digest(),
        "ids": [r.id for r in rows if r.source == source],
        "scores": [float(x) for x in scores],
        "rated": [int(x) for x in rated],
    }
    part_path(parts, source).write_text(json.dumps(part) + "\n", encoding="utf-8")


def load_part(
    parts: Path, rows: Sequence[Row], source: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """A saved part for this source, or None; a part for other rows (the data changed) fails."""
    path = part_path(parts, source)
    if not path.exists():
        return None
    part = json.loads(path.read_text(encoding="utf-8"))
    if part["ids"] != [r.id for r in rows if r.source == source]:
        raise SystemExit(f"{path} was computed for other {source} rows: delete it and rerun")
    if part["trainer"] != trainer_digest():
        raise SystemExit(f"{path} was computed by other training code: delete it and rerun")
    return np.array(part["scores"], dtype=float), np.array(part["rated"], dtype=int)


def leave_one_source_out(
    rows: Sequence[Row], features: Featurized, parts: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and balanced levels of every row from a rater trained without its source.

    With `parts`, a source whose part a `--sources` run saved there is read, not retrained;
    the others are computed and saved there too."""
    scores = np.zeros(len(rows))
    rated = np.zeros(len(rows), dtype=int)
    sources = np.array([r.source for r in rows])
    for source in sorted(set(sources)):
        test = sources == source
        saved = load_part(parts, rows, source) if parts else None
        if saved is None:
            saved = left_out(rows, features, source)
            if parts:
                save_part(parts, rows, source, *saved)
        scores[test], rated[test] = saved
        print(f"  left out {source}: {int(test.sum())} rows", file=sys.stderr)
    return scores, rated


def leave_sources_out(names: Sequence[str], parts: Path) -> dict[str, dict[str, float]]:
    """The `--sources` run: only these sources' parts, saved, and their figures."""
    rows = load_training_rows()
    known = sorted({r.source for r in rows})
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown source {', '.join(unknown)}; known: {', '.join(known)}")
    features = Featurized(r.prompt for r in rows)
    result = {}
    for source in names:
        scores, rated = left_out(rows, features, source)
        save_part(parts, rows, source, scores, rated)
        labels = [r.level for r in rows if r.source == source]
        result[source] = figures(labels, [int(x) for x in rated])
        print(
            f"  left out {source}: {len(labels)} rows -> {part_path(parts, source)}",
            file=sys.stderr,
        )
    return result


def per_group(rows: Sequence[Row], rated: np.ndarray, key: str) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[getattr(row, key)].append(i)
    return {
        name: figures([rows[i].level for i in idx], [int(rated[i]) for i in idx])
        for name, idx in sorted(groups.items())
    }


def evaluate(quick: bool, parts: Path | None = None) -> dict[str, Any]:
    rows = load_training_rows()
    features = Featurized(r.prompt for r in rows)
    levels = np.array([r.level for r in rows], dtype=float)
    weights = row_weights(rows)
    shipped = shipped_model()
    held = held_out_scores(features, levels, weights, folds_of(rows), translation_pairs(rows))
    held_rated = levels_of(shipped, held, Preference.BALANCED)
    rater = Rater(shipped)
    report: dict[str, Any] = {
        "rows": len(rows),
        "labels": dict(Counter(LEVELS[r.level] for r in rows)),
        "cross_validated": {
            "all": figures(levels.astype(int), held_rated),
            "proxies": proxy_checks(rows, held, held_rated),
        },
        "translations": translation_checks(rater, rows, held_rated),
        "tricky_holdout": tricky_figures(rater),
        "seed_rows": [
            {"prompt": p, "label": want, "rating": rater.rate(p).complexity.label}
            for p, want in SEED_ROWS
        ],
        "compute_curve": compute_curve(rows, shipped, held),
        "label_consistency": label_consistency(rows),
        "speed": analyzer_timings(),
    }
    if not quick:
        scores, rated = leave_one_source_out(rows, features, parts)
        report["leave_one_source_out"] = {
            "all": figures(levels.astype(int), rated),
            "per_source": per_group(rows, rated, "source"),
            "per_language": per_group(rows, rated, "lang"),
            "confusion": confusion(levels.astype(int), rated),
            "proxies": proxy_checks(rows, scores, rated),
        }
    return report


def tricky_figures(rater: Rater) -> dict[str, Any]:
    holdout = load_tricky_holdout()
    rated = [int(rater.rate(r.prompt).complexity) for r in holdout]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(holdout):
        by_kind[str(row.extra["kind"])].append(i)
    # Figures only, never the prompts: whoever reads them must not learn the hold-out's texts.
    return {
        "all": figures([r.level for r in holdout], rated),
        "per_kind": {
            kind: figures([holdout[i].level for i in idx], [rated[i] for i in idx])
            for kind, idx in sorted(by_kind.items())
        },
    }


def confusion(labels: np.ndarray, rated: np.ndarray) -> list[list[int]]:
    table = [[0] * len(LEVELS) for _ in LEVELS]
    for a, b in zip(labels, rated, strict=True):
        table[int(a)][int(b)] += 1
    return table


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip leave-one-source-out")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--no-write", action="store_true", help="leave docs/ROUTING.md alone")
    parser.add_argument(
        "--sources",
        help="comma-separated: only leave these sources out, save their parts, write no page",
    )
    parser.add_argument(
        "--parts",
        type=Path,
        help=f"where --sources saves each source's part (default {PARTS}); a full run given "
        "--parts reads the parts there",
    )
    args = parser.parse_args(argv)
    if args.sources:
        names = [name.strip() for name in args.sources.split(",") if name.strip()]
        print(json.dumps(leave_sources_out(names, args.parts or PARTS), indent=1))
        return 0
    report = evaluate(args.quick, args.parts)
    if args.json:
        args.json.write_text(
            json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if not args.no_write and not args.quick:
        from routing_report import render  # noqa: PLC0415 - only needed when writing the page

        document = DOC.read_text(encoding="utf-8")
        head, _, rest = document.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n{render(report)}\n{END}{tail}", encoding="utf-8")
    print(
        json.dumps(
            {k: v for k, v in report.items() if k != "leave_one_source_out"},
            indent=1,
            ensure_ascii=False,
        )[:6000]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
