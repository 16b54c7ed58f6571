"""The authors' labelled prompts (data/routing/authored.jsonl): valid, unique, none of them a
tricky hold-out prompt; and the features that read the ask apart from what it frames."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bizra_desktop.core.analyzer import analyze
from bizra_desktop.core.routing.features import extract
from bizra_desktop.core.tiers import Complexity

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "routing"
LEVELS = ("trivial", "simple", "moderate", "complex", "expert")


def _build_script() -> ModuleType:
    # scripts/ is a folder of scripts, not a package: load by file.
    path = ROOT / "scripts" / "build_authored.py"
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def authored() -> list[dict[str, Any]]:
    return _jsonl(DATA / "authored.jsonl")


def test_every_authored_row_is_valid(authored: list[dict[str, Any]]) -> None:
    build = _build_script()
    assert len(authored) >= 1000
    for line, row in enumerate(authored, start=1):
        build.checked(row, f"authored.jsonl:{line}")
        assert row["author"] in {"a1", "a2", "a3", "a4", "a5"}
    assert {row["label"] for row in authored} == set(LEVELS)


def test_no_authored_prompt_repeats_or_is_a_hold_out_prompt(
    authored: list[dict[str, Any]],
) -> None:
    """Compared normalised (case, width, spacing); only counts are reported, never a prompt."""
    build = _build_script()
    keys = Counter(build.key(row["prompt"]) for row in authored)
    assert max(keys.values()) == 1
    holdout = {
        build.key(item["prompt"])
        for item in _jsonl(DATA / "tricky.jsonl")
        if item["split"] == "holdout"
    }
    assert len(holdout) == 120
    assert not holdout & keys.keys(), f"{len(holdout & keys.keys())} hold-out prompts"


def test_a_minimal_pair_shares_a_fold(authored: list[dict[str, Any]]) -> None:
    """Both prompts of a pair (same words, different levels) land in one cross-validation fold."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import rater_lab  # noqa: PLC0415 - a script folder, importable once on the path

    rows = [r for r in rater_lab.load_training_rows() if r.source == "authored"]
    assert len(rows) == len(authored)
    folds = rater_lab.folds_of(rows)
    by_pair: dict[str, set[int]] = {}
    pair_levels: dict[str, set[int]] = {}
    for row, fold in zip(rows, folds, strict=True):
        if "pair" in row.extra:
            by_pair.setdefault(str(row.extra["pair"]), set()).add(int(fold))
            pair_levels.setdefault(str(row.extra["pair"]), set()).add(row.level)
    assert len(by_pair) >= 50
    assert all(len(found) == 1 for found in by_pair.values())
    # What makes a pair useful: the same words at different levels.
    assert sum(len(found) == 2 for found in pair_levels.values()) >= 0.9 * len(pair_levels)


def test_a_bad_row_is_refused_with_where_it_is() -> None:
    build = _build_script()
    with pytest.raises(ValueError, match=r"a9\.jsonl:3: label 'hard'"):
        build.checked({"prompt": "x", "label": "hard", "lang": "en", "kind": "k"}, "a9.jsonl:3")
    with pytest.raises(ValueError, match="empty or missing prompt"):
        build.checked({"prompt": "  ", "label": "simple", "lang": "en", "kind": "k"}, "a9.jsonl:4")


CODE = "\n".join(
    [
        "def merge(a, b):",
        "    out = []",
        "    while a and b:",
        "        out.append(a.pop(0) if a[0] < b[0] else b.pop(0))",
        "    return out + a + b",
        "",
        "class Scheduler:",
        "    def run(self, jobs):",
        "        for job in jobs:",
        "            job.start()",
    ]
)


def test_the_ask_is_read_apart_from_the_pasted_code() -> None:
    """Around the same paste, "what language is this?" is a short closed ask; "find the bug"
    asks for code work. The pasted code's own words are material, not the ask."""
    easy = extract(f"What language is this?\n\n{CODE}").dense
    hard = extract(f"{CODE}\n\nFind the bug in this and explain why it fails.").dense
    assert easy["edge_ask:head"] == hard["edge_ask:tail"] == 1.0
    assert "edge:closed" in easy and "edge:code" not in easy
    assert "edge:code" in hard and "edge:closed" not in hard
    assert "edge_ask_words<=8" in easy and "edge_material_words<=40" in easy
    # A prompt that is all one short paragraph has no material around its ask.
    assert not any(name.startswith("edge") for name in extract("Find the bug in merge().").dense)


def test_a_greeting_is_not_the_ask() -> None:
    """A greeting before a task is neither the ask nor material around it: the task's
    concepts, its length against the material and what it leads with are those of the task
    alone, in any language; a prompt that only greets keeps its greeting."""
    for ask in (
        "Докажите, что корень из двух иррационален, шаг за шагом.",
        "Design a distributed rate limiter for a global API.",
    ):
        for greeting in ("Hi! ", "Привет! ", "Hey there! "):
            alone, greeted = extract(ask).dense, extract(greeting + ask).dense
            assert not any(name.startswith("asks:greeting") for name in greeted)
            about_the_ask = ("asks:", "leads:", "ask_words", "material_words")
            assert {n for n in greeted if n.startswith(about_the_ask)} == {
                n for n in alone if n.startswith(about_the_ask)
            }
            assert analyze(greeting + ask).complexity >= Complexity.COMPLEX
    for only in ("Hello!", "Hi! How are you?", "Thanks! That helps a lot."):
        assert "asks:greeting" in extract(only).dense
        assert analyze(only).complexity == Complexity.TRIVIAL
