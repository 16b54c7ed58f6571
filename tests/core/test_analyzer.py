"""The TaskAnalyzer: the routing table, accuracy on the labelled set, reasons, speed, robustness."""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bizra_desktop.core import analyzer
from bizra_desktop.core.analyzer import Analysis, TaskAnalyzer, analyze
from bizra_desktop.core.tiers import Complexity

ROOT = Path(__file__).resolve().parents[2]
LABELLED = Path(__file__).parent / "data" / "analyzer_labelled.jsonl"


def _benchmark() -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the report function from its file.
    spec = importlib.util.spec_from_file_location(
        "analyzer_accuracy", ROOT / "benchmarks" / "analyzer_accuracy.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result: dict[str, Any] = _benchmark().accuracy_report(LABELLED, repeats=20)
    return result


# The routing table of the issue, each row with variants (prompts separated by " | ").
TABLE = {
    Complexity.TRIVIAL: "Hello! | hello | Hello. | HELLO!!! | Hi! | hey | Hola | Bonjour ! | Привет"
    " | 你好 | こんにちは | مرحبا | Namaste | Merhaba | Thanks! | bye",
    Complexity.SIMPLE: "What is entropy? | what is entropy | What is X? | What is photosynthesis?"
    " | What is a monad? | What's inflation? | what is the GDP of France",
    Complexity.MODERATE: "Explain how vaccines work. | explain how a CPU cache works"
    " | Explain how TCP congestion control works? | Explain how rainbows form"
    " | Could you please explain how rainbows form?",
    Complexity.COMPLEX: "Analyze the French Revolution. | analyze this data"
    " | Analyze the impact of remote work on productivity | Analyze my essay!"
    " | Hey, can you analyze this poem?",
    Complexity.EXPERT: "Design a URL shortener. | design a distributed cache"
    " | Design a fault-tolerant payment system | Design an API gateway!"
    " | Hello! Can you design a chat backend?",
}
ROWS = [(prompt, level) for level, row in TABLE.items() for prompt in row.split(" | ")]


@pytest.mark.parametrize(("prompt", "expected"), ROWS)
def test_routing_table(prompt: str, expected: Complexity) -> None:
    assert analyze(prompt).complexity is expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Hi! What is the tallest mountain in the world?", Complexity.SIMPLE),
        ("Thanks! Now explain how DNS works.", Complexity.MODERATE),
        ("Hey, could you analyze the trade-offs of event sourcing?", Complexity.COMPLEX),
        ("Good morning! Prove that sqrt(2) is irrational.", Complexity.EXPERT),
        ("Bonjour ! Pouvez-vous concevoir une architecture pour une banque ?", Complexity.EXPERT),
    ],
)
def test_a_greeting_before_a_task_is_rated_by_the_task(prompt: str, expected: Complexity) -> None:
    assert analyze(prompt).complexity is expected


def test_modifiers_move_the_score() -> None:
    plain = analyze("Explain quantum field theory renormalization.").score
    assert analyze("Explain quantum field theory renormalization in depth.").score > plain
    assert analyze("Briefly explain quantum field theory renormalization.").score < plain


def test_accuracy_on_the_labelled_set(report: dict[str, Any]) -> None:
    for split in ("dev", "holdout", "all"):
        f = report[split]
        print(
            f"{split}: n={f['n']} exact={f['exact']:.3f} within-one={f['within_one']:.3f} "
            f"two-or-more-too-low={f['two_too_low']:.3f}"
        )
    # Measured when the set was written: exact 0.96 (holdout 0.93), within-one 1.00, none two
    # or more levels too low. The floors leave a little room.
    every = report["all"]
    assert every["n"] >= 180
    assert every["exact"] >= 0.92
    assert every["within_one"] >= 0.98
    assert every["two_too_low"] <= 0.01
    assert report["holdout"]["exact"] >= 0.88


def test_p99_time_over_the_labelled_set(report: dict[str, Any]) -> None:
    print(f"analyze: p50 {report['p50_ms']:.3f} ms, p99 {report['p99_ms']:.3f} ms")
    assert report["p99_ms"] < 1.0


def test_a_long_ordinary_prompt_is_fast() -> None:
    article = " ".join(row["prompt"] for row in _benchmark().load(LABELLED))[:3000]
    times = []
    for _ in range(20):
        start = time.perf_counter()
        analyze(article + "\nSummarize the text above.")
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.002


@pytest.mark.parametrize(
    ("prompt", "signal"),
    [
        ("Design a distributed cache", "design"),
        ("Hello!", "greeting"),
        ("What is entropy?", "what is"),
        ("Could you explain how tides work?", "explain"),
        ("Analyze the causes of inflation", "analy"),
        ("Prove that there are infinitely many primes.", "proof"),
        ("Fix this:\n```python\nprint(1/0)\n```", "code"),
        ("Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'", "trace"),
        ("1. parse the file\n2. count the words\n3. print the total", "sub-tasks"),
        ("Sort a list in O(n log n) without extra memory", "constraints"),
        ("What is the integral of x^2 dx?", "maths"),
        ("word " * 300, "long prompt (300 words)"),
        ("   \n\t ", "empty prompt"),
    ],
)
def test_reasons_name_the_decisive_signal(prompt: str, signal: str) -> None:
    reasons = analyze(prompt).reasons
    assert reasons
    assert any(signal in reason for reason in reasons), reasons


def test_the_task_is_the_first_reason() -> None:
    assert "design" in analyze("Hi! Could you design a rate limiter for our API?").reasons[0]


def test_every_labelled_prompt_has_reasons() -> None:
    for row in _benchmark().load(LABELLED):
        assert analyze(row["prompt"]).reasons


def test_the_keyword_gate_never_hides_a_match() -> None:
    """For speed a phrase runs only when its key is among the prompt's words (see analyzer.py).
    Wherever a phrase matches, its key must be there, or the gate would change a rating."""
    rules = (
        *analyzer._TASKS,
        analyzer._CODE,
        *analyzer._FLAGS,
        *analyzer._CONSTRAINTS,
        *analyzer._MODIFIERS,
    )
    phrases = [*(p for rule in rules for p in rule.phrases), *analyzer._SEQUENCE]
    prompts = [row["prompt"] for row in _benchmark().load(LABELLED)] + [
        "She designs a house; he redesigned the site and then explained it.",
        "whats up? what's new? Qu'est-ce que c'est? tl;dr: step-by-step, in-depth, trade-offs",
        "Re-write and re-design: high-availability, fault-tolerant, production-ready, 100k rps",
    ]
    for prompt in prompts:
        text = prompt.lower().replace("\u2019", "'")
        keys = {word[: analyzer._KEY_LEN] for word in analyzer._vocabulary(text)}
        for phrase in phrases:
            if phrase.key is not None and next(phrase.matches(text), None):
                assert phrase.key in keys, (phrase.pattern.pattern, prompt)


@pytest.mark.parametrize("prompt", ["", " ", "\n\t  \r\n"])
def test_empty_prompt_is_trivial(prompt: str) -> None:
    assert analyze(prompt) == Analysis(Complexity.TRIVIAL, 0.0, ("empty prompt",))


def test_deterministic() -> None:
    for row in _benchmark().load(LABELLED):
        first = TaskAnalyzer().analyze(row["prompt"])
        assert first == analyze(row["prompt"]) == analyze(row["prompt"])


def test_a_megabyte_is_bounded() -> None:
    paste = ("lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 18_000)[:1_000_000]
    ask = "\nDesign a sharded key-value store."
    for prompt in (paste, "x" * 1_000_000, paste + ask, ask + paste):
        start = time.perf_counter()
        analyze(prompt)
        assert time.perf_counter() - start < 0.1
    assert f"long prompt ({len(paste.split())} words)" in analyze(paste).reasons
    assert analyze(paste + ask).complexity is Complexity.EXPERT
    assert analyze(ask + paste).complexity is Complexity.EXPERT


# Fragments that exercise the tricky paths: greetings, modifiers that pull down, code fences,
# list markers, case folding that changes length, surrogates and NUL bytes.
_TRICKY = [
    *("\x00", "```", "`", "hello ", "thanks!", "briefly ", "in one word, ", "\n1. ", "what is "),
    *("O(", "İ", "\u2019", "-", "Traceback"),
]
_FRAGMENTS = st.one_of(st.text(), st.characters(categories=["Cs"]), st.sampled_from(_TRICKY))
_PROMPTS = st.lists(_FRAGMENTS, max_size=12).map("".join)
_EXPERT_TASKS = st.sampled_from(
    [
        "Design a fault-tolerant distributed database with strong consistency.",
        "Prove that every planar graph is 5-colorable.",
        "Architect a multi-region payment platform with exactly-once processing.",
        "Formulate a pricing strategy for a two-sided marketplace.",
    ]
)


@settings(max_examples=300, database=None, deadline=None)
@given(_PROMPTS)
def test_never_raises(prompt: str) -> None:
    result = analyze(prompt)
    assert isinstance(result.complexity, Complexity)
    assert result.reasons


@settings(max_examples=300, database=None, deadline=None)
@given(_PROMPTS, st.sampled_from([" ", "\n", ". ", "\n\n"]), _EXPERT_TASKS)
def test_an_expert_task_is_never_rated_below_complex(prefix: str, joint: str, task: str) -> None:
    assert analyze(prefix + joint + task).complexity >= Complexity.COMPLEX
