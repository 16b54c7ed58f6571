#!/usr/bin/env python3
"""Build data/routing/authored.jsonl from the hand-written authors' files.

    python scripts/build_authored.py --authoring DIR

DIR holds one `<author>.jsonl` per author (a1 … a5), each line `{"prompt", "label", "lang",
"kind"}` plus `"pair"` for a minimal pair (two prompts sharing their key words, one easy, one
hard). A provenance step, run once when an author's file changes; its output is committed, so
training and the tests never need DIR.

Every row is checked (a known label, a non-empty prompt, a language code, a kind) and a bad row
stops the build with its file and line. Dropped, and only counted (the prompts are never
printed): a prompt that equals, once normalised, a tricky hold-out prompt (the hold-out must
stay unseen), and one that is already in the training data or earlier in the authored rows.
A pair's id is made unique across authors ("a2:7"). The output is sorted by author and line:
the same files give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bizra_desktop.core.routing.features import normalize  # noqa: E402

DATA = ROOT / "data" / "routing"
OUT = DATA / "authored.jsonl"
LEVELS = ("trivial", "simple", "moderate", "complex", "expert")
_AUTHOR = re.compile(r"^a\d+$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_SPACE = re.compile(r"\s+")


def key(prompt: str) -> str:
    """A prompt as compared for duplicates: normalised, whitespace collapsed."""
    return _SPACE.sub(" ", normalize(prompt)).strip()


def checked(item: Any, where: str) -> dict[str, Any]:
    """One author's row, validated; a bad row raises with where it is."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: not a JSON object")
    prompt, label = item.get("prompt"), item.get("label")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"{where}: empty or missing prompt")
    if label not in LEVELS:
        raise ValueError(f"{where}: label {label!r} is not one of {', '.join(LEVELS)}")
    if not isinstance(item.get("lang"), str) or not _LANGUAGE.match(item["lang"]):
        raise ValueError(f"{where}: lang {item.get('lang')!r} is not an ISO 639-1 code")
    if not isinstance(item.get("kind"), str) or not item["kind"]:
        raise ValueError(f"{where}: missing kind")
    if "pair" in item and not isinstance(item["pair"], int | str):
        raise ValueError(f"{where}: pair {item['pair']!r} is not an id")
    return item


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def existing_keys() -> tuple[set[str], set[str]]:
    """(the tricky hold-out's prompts, every other training prompt), as keys."""
    import gzip  # noqa: PLC0415 - only this provenance step reads the corpus archive

    holdout, training = set(), set()
    for item in _jsonl(DATA / "tricky.jsonl"):
        (holdout if item["split"] == "holdout" else training).add(key(item["prompt"]))
    for name in ("handwritten.jsonl", "translations_train.jsonl"):
        training.update(key(item["prompt"]) for item in _jsonl(DATA / name))
    with gzip.open(DATA / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        training.update(key(json.loads(line)["prompt"]) for line in f if line.strip())
    return holdout, training


def build(
    files: Iterable[Path], holdout: set[str], training: set[str]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The authored rows and what was dropped (counts only)."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    dropped = {"holdout": 0, "training": 0, "repeated": 0}
    for path in sorted(files):
        author = path.stem
        if not _AUTHOR.match(author):
            raise ValueError(f"{path}: an author's file is named a<number>.jsonl")
        for line, raw in enumerate(_jsonl(path), start=1):
            item = checked(raw, f"{path.name}:{line}")
            prompt_key = key(item["prompt"])
            reason = (
                "holdout"
                if prompt_key in holdout
                else "training"
                if prompt_key in training
                else "repeated"
                if prompt_key in seen
                else ""
            )
            if reason:
                dropped[reason] += 1
                continue
            seen.add(prompt_key)
            row = {
                "author": author,
                "kind": item["kind"],
                "label": item["label"],
                "lang": item["lang"],
                "line": line,
                "prompt": item["prompt"],
            }
            if "pair" in item:
                row["pair"] = f"{author}:{item['pair']}"
            rows.append(row)
    return rows, dropped


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authoring", type=Path, required=True, help="the authors' folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    files = [p for p in args.authoring.glob("a*.jsonl") if _AUTHOR.match(p.stem)]
    if not files:
        raise SystemExit(f"no a<number>.jsonl in {args.authoring}")
    rows, dropped = build(files, *existing_keys())
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(rows)} rows → {args.out}; dropped (counted, not shown): {dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
