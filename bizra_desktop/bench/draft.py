"""`bizra bench --draft`: decoding with and without drafts (engine/drafts.py), same run.

Three comparisons, each the median of alternating paired rounds: a draft model drafting for
its target on general prompts; prompt lookup on a rewrite workload (answers that repeat what
the prompt quotes); prompt lookup on the general prompts (what it costs where it finds
little). The drafted and the plain side each have their own loaded model, so both see the
same prompts in the same order and so the same KV cache states; greedy answers must match
token for token, and the report says whether they did.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bizra_desktop.core.engine.protocol import (
    GenerationDone,
    LoadSpec,
    SamplingParams,
    TokenText,
)
from bizra_desktop.core.engine.runner import LlamaRunner
from bizra_desktop.core.hardware import physical_cores
from bizra_desktop.core.models.store import ModelStore, starter_model_path
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.tiers import Tier

N_CTX = 2048
ROUNDS = 5
MAX_TOKENS = 160

_CODE = """def parse_config(path):
    settings = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return setings
"""

# Rewrite, fix-this-code, translate-with-format: answers that repeat what the prompt quotes.
REWRITE_PROMPTS = (
    "Correct the spelling in this list and return the list:\n\n- Buy milk and bred\n"
    "- Call the plumbr about the kitchen sink\n- Send the invoice to the acounting team\n"
    "- Book a table for dinner on Friday\n- Renew the car insurence before the end of the "
    "month\n- Water the plants on the balcony",
    "Correct the grammar in this email and return the corrected email:\n\nHello Maria,\n\n"
    "Thank you for you message. I has looked at the report and I think it need some changes "
    "before we sends it to the client. The numbers in the second table is not matching the "
    "summary, and the dates in the introduction is wrong. Can we meet tomorrow at ten to "
    "discuss it?\n\nBest regards,\nJohn",
    "Rename the variable settings to config in this function and return the whole "
    f"function:\n\n```python\n{_CODE}```",
    "Fix the bug in this Python function and return the corrected function:\n\n```python\n"
    f"{_CODE}```",
    "Translate this Markdown table to French, keeping the table format:\n\n| Day | Task |\n"
    "| --- | --- |\n| Monday | Clean the kitchen |\n| Tuesday | Buy groceries |\n"
    "| Wednesday | Visit grandmother |",
    "Rewrite this paragraph in the past tense:\n\nThe team meets every Monday morning. They "
    "review the open issues, assign new tasks and plan the week. After the meeting, everyone "
    "goes back to work and the manager writes a short summary for the whole department.",
)
GENERAL_PROMPTS = (
    "Explain how a refrigerator moves heat out of its box.",
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "What are the main differences between a list and a tuple in Python?",
    "Give me three ideas for a healthy breakfast.",
)


@dataclass(frozen=True, kw_only=True)
class _Pass:
    """One side of one round: every prompt of the workload answered once."""

    answers: tuple[str, ...]
    tokens: int  # decoded tokens after each answer's first
    seconds: float  # decode time after each answer's first token
    drafted: int
    accepted: int

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def _answer_all(
    runner: LlamaRunner, prompts: Sequence[str], params: SamplingParams, prompt_lookup: bool
) -> _Pass:
    answers, tokens, seconds, drafted, accepted = [], 0, 0.0, 0, 0
    for prompt in prompts:
        pieces: list[str] = []
        first: float | None = None
        for event in runner.stream(
            [{"role": "user", "content": prompt}], params, lambda: False, prompt_lookup
        ):
            if isinstance(event, TokenText):
                if first is None and event.tokens:
                    first = time.perf_counter()
                pieces.append(event.text)
            elif isinstance(event, GenerationDone):
                if first is not None:
                    seconds += time.perf_counter() - first
                    tokens += max(0, event.completion_tokens - 1)
                drafted += sum(stats.drafted for stats in event.drafting)
                accepted += sum(stats.accepted for stats in event.drafting)
        answers.append("".join(pieces))
    return _Pass(
        answers=tuple(answers),
        tokens=tokens,
        seconds=seconds,
        drafted=drafted,
        accepted=accepted,
    )


def _compare(
    plain: LlamaRunner,
    drafting: LlamaRunner,
    prompts: Sequence[str],
    params: SamplingParams,
    prompt_lookup: bool,
    *,
    rounds: int,
) -> dict[str, Any]:
    """Paired rounds, the side that goes first alternating; medians of the rounds."""
    plain_speeds, drafted_speeds, ratios = [], [], []
    identical, drafted, accepted = True, 0, 0
    for index in range(rounds):
        sides = [(plain, False), (drafting, prompt_lookup)]
        if index % 2:
            sides.reverse()
        passes = {id(runner): _answer_all(runner, prompts, params, look) for runner, look in sides}
        base, fast = passes[id(plain)], passes[id(drafting)]
        identical = identical and base.answers == fast.answers
        drafted += fast.drafted
        accepted += fast.accepted
        plain_speeds.append(base.tokens_per_s)
        drafted_speeds.append(fast.tokens_per_s)
        ratios.append(fast.tokens_per_s / base.tokens_per_s if base.tokens_per_s else 0.0)
    return {
        "prompts": len(prompts),
        "plain_tokens_per_s": round(statistics.median(plain_speeds), 1),
        "drafted_tokens_per_s": round(statistics.median(drafted_speeds), 1),
        "speedup": round(statistics.median(ratios), 3),
        "speedup_rounds": [round(ratio, 3) for ratio in ratios],
        "drafted": drafted,
        "accepted": accepted,
        "acceptance": round(accepted / drafted, 3) if drafted else None,
        "identical": identical,
    }


@contextmanager
def _runner(spec: LoadSpec, draft: LoadSpec | None = None) -> Iterator[LlamaRunner]:
    runner = LlamaRunner()
    try:
        runner.ensure_loaded(spec, draft)
        yield runner
    finally:
        runner.unload()


def default_models(paths: DataPaths) -> tuple[Path, Path | None, str]:
    """The target and the draft model: the installed MEDIUM and NANO tiers, else the starter
    model and None (a copy of it drafts for it); and a line saying which."""
    installed = ModelStore(paths.models).installed()
    if Tier.MEDIUM in installed and Tier.NANO in installed:
        return installed[Tier.MEDIUM].path, installed[Tier.NANO].path, "installed NANO → MEDIUM"
    starter = starter_model_path()
    if starter is None:
        raise FileNotFoundError("no MEDIUM and NANO tiers and no starter model to measure")
    return starter, None, "starter model drafting for a copy of itself (no MEDIUM+NANO)"


def run_draft_benchmark(
    paths: DataPaths,
    model: Path | None = None,
    draft: Path | None = None,
    *,
    rounds: int = ROUNDS,
    max_tokens: int = MAX_TOKENS,
    progress: TextIO | None = None,
) -> dict[str, Any]:
    """Decode speed with and without drafting; greedy answers, `rounds` paired rounds each."""
    if model is None:
        model, draft, pairing = default_models(paths)
    else:
        pairing = "chosen by you"
    threads = physical_cores()
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    target = LoadSpec(model_path=str(model), n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0)
    report: dict[str, Any] = {
        "target": model.name,
        "pairing": pairing,
        "threads": threads,
        "rounds": rounds,
        "max_tokens": max_tokens,
    }
    with tempfile.TemporaryDirectory(prefix="bizra-draft-") as folder:
        if draft is None:  # a copy: its own file, as a second model would be
            draft = Path(folder) / f"copy-of-{model.name}"
            shutil.copyfile(model, draft)
        report["draft"] = draft.name
        draft_spec = LoadSpec(model_path=str(draft), n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0)
        runs = (
            ("draft_model", GENERAL_PROMPTS, draft_spec, False),
            ("prompt_lookup_rewrite", REWRITE_PROMPTS, None, True),
            ("prompt_lookup_general", GENERAL_PROMPTS, None, True),
        )
        for name, prompts, drafter, lookup in runs:
            if progress is not None:
                print(f"bench --draft: {name}, {rounds} rounds", file=progress, flush=True)
            # Both sides freshly loaded: the same KV cache states, prompt after prompt.
            with _runner(target) as plain, _runner(target, drafter) as drafting:
                report[name] = _compare(plain, drafting, prompts, params, lookup, rounds=rounds)
    return report
