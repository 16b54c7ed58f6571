#!/usr/bin/env python3
"""Build data/routing/corpus.jsonl.gz: every public prompt with its five-level label.

    python scripts/build_routing_corpus.py --corpus PATH/TO/PUBLIC/CORPUS

A provenance step, run once when the public corpus or the annotations change; its output is
committed, so training, tests and the evaluation never need the corpus itself (a user's clone
has none). Labels come from the rubric in docs/ROUTING.md in two ways:

- measured proxies where the source carries them (MMLU model-correctness flags, GSM8K solution
  steps, FollowBench constraint levels, IFEval constraint counts): `label_by` "proxy:…";
- annotators' judgements by the rubric for the rest (data/routing/annotations/first_pass.jsonl):
  `label_by` "rubric:<annotator>".

The output is byte-for-byte deterministic (sorted rows, gzip without a timestamp).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "routing"
LEVELS = ("trivial", "simple", "moderate", "complex", "expert")


def proxy_label(source: str, meta: dict[str, Any]) -> tuple[str, str] | None:
    """(label, how) from a source's measured signal, or None where it has none."""
    if source == "routellm_mmlu":
        weak, strong = meta["routellm_mixtral_8x7b_correct"], meta["routellm_gpt4_1106_correct"]
        if strong and not weak:
            return "expert", "proxy:mmlu-strong-only"
        if not strong and not weak:
            return "complex", "proxy:mmlu-both-wrong"
        return "moderate", "proxy:mmlu-weak-right"
    if source == "gsm8k":
        steps = int(meta["n_solution_steps"])
        return ("moderate" if steps <= 4 else "complex"), f"proxy:gsm8k-{steps}-steps"
    if source == "followbench":
        level = int(meta["level"])
        label = "moderate" if level <= 1 else "complex" if level <= 3 else "expert"
        return label, f"proxy:followbench-level-{level}"
    if source in ("ifeval", "m_ifeval"):
        count = int(meta["n_constraints"])
        return ("moderate" if count <= 1 else "complex"), f"proxy:ifeval-{count}-constraints"
    return None


def _language(source: str, meta: dict[str, Any]) -> str:
    if source == "arena_hard_v2_0":
        return {"cjk_zh": "zh", "cjk_ja": "ja", "cyrillic": "ru", "hangul": "ko"}.get(
            meta.get("script_guess", ""), "en" if meta.get("script_guess") == "latin" else "xx"
        )
    if source == "rakuda_ja":
        return "ja"
    return str(meta.get("lang", "en"))


def _proxies(source: str, meta: dict[str, Any], prompt_id: str) -> dict[str, Any]:
    """What the evaluation's proxy checks read."""
    kept: dict[str, Any] = {}
    if "routellm_gpt4_1106_correct" in meta:
        kept["strong_right"] = meta["routellm_gpt4_1106_correct"]
        kept["weak_right"] = meta["routellm_mixtral_8x7b_correct"]
    if source == "gsm8k":
        kept["steps"] = meta["n_solution_steps"]
    if source == "followbench":
        kept["chain"] = prompt_id.rsplit("-L", 1)[0]
        kept["level"] = meta["level"]
    if source == "routellm_mmlu":
        kept["subject"] = meta["subject"]
    if source in ("arena_hard_v2_0", "mt_bench"):
        kept["category"] = meta.get("category")
    return kept


def build(corpus: Path) -> list[dict[str, Any]]:
    annotations = {}
    with (DATA / "annotations" / "first_pass.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            annotations[row["id"]] = (row["label"], f"rubric:{row['annotator']}")
    rows = []
    for path in sorted(corpus.glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                item = json.loads(line)
                source, meta = item["source"], item["meta"]
                labelled = proxy_label(source, meta) or annotations.get(item["id"])
                if labelled is None:
                    sys.exit(f"{item['id']} ({source}) has neither a proxy nor an annotation")
                label, how = labelled
                if label not in LEVELS:
                    sys.exit(f"{item['id']}: unknown label {label!r}")
                rows.append(
                    {
                        "id": item["id"],
                        "source": source,
                        "lang": _language(source, meta),
                        "prompt": item["prompt"],
                        "label": label,
                        "label_by": how,
                        **_proxies(source, meta, item["id"]),
                    }
                )
    rows.sort(key=lambda r: (r["source"], r["id"]))
    return rows


def write(rows: list[dict[str, Any]], path: Path) -> None:
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(body.encode("utf-8"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        required=True,
        help="the folder of the public corpus's JSONL files (not part of this repository)",
    )
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    rows = build(args.corpus)
    write(rows, DATA / "corpus.jsonl.gz")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    print(f"{len(rows)} rows: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in LEVELS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
