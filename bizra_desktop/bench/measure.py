"""`bizra bench`: the pipeline against bare llama-cpp-python, measured in the same run.

Absolute speeds vary from machine to machine and minute to minute; the ratios between
contenders measured side by side, round after round, do not.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from bizra_desktop.core.analyzer import TaskAnalyzer
from bizra_desktop.core.engine.host import STREAM_INTERVAL_S, InferenceHost
from bizra_desktop.core.engine.protocol import LoadSpec, SamplingParams, TokenText
from bizra_desktop.core.engine.runner import LlamaRunner
from bizra_desktop.core.engine.sampler import Sampler
from bizra_desktop.core.hardware import physical_cores
from bizra_desktop.core.models.store import ModelFile, open_model, starter_model_path
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import (
    Failed,
    Finished,
    Pipeline,
    PipelineEvent,
    RunOptions,
    Token,
)

N_CTX = 2048
SETTLE_S = 0.5
ROUNDS = 5  # the default of `bizra bench` and `bizra bench --report` alike
# Where scripts/build_llama_bench.sh puts llama.cpp's own benchmark: the repository's build/
# (this file is bizra_desktop/bench/measure.py, two folders down).
BUILT_LLAMA_BENCH = Path(__file__).resolve().parents[2] / "build" / "llama-bench" / "llama-bench"
BUILD_LLAMA_BENCH = "scripts/build_llama_bench.sh"
TASK = "Write a detailed story about a lighthouse keeper who finds a message in a bottle."
ANALYZER_SAMPLES = (
    "Hello!",
    "What is entropy?",
    "Explain how a refrigerator moves heat out of its box.",
    "Analyze the trade-offs between optimistic and pessimistic locking in a booking system.",
    "Design a multi-region event-sourced payment ledger with exactly-once settlement, "
    "and justify every consistency choice.",
    "def f(x):\n    return x*x\nWhy does this function get slow for numpy object arrays?",
    "1. Summarise the article. 2. List three weaknesses. 3. Propose a better experiment.",
    "Bonjour ! Comment ça va ?",
    "Prove that the square root of 2 is irrational, then generalise to any non-square n.",
    "Can you briefly define a monad in one sentence?",
)


@dataclass
class Sample:
    ttft_ms: float
    tokens_per_s: float
    tokens: int


def _measure(chunks: Iterator[int]) -> Sample:
    """Time a stream whose items are the number of tokens each chunk carries."""
    started = time.perf_counter()
    first = last = 0.0
    tokens = first_tokens = 0
    for count in chunks:
        now = time.perf_counter()
        if not tokens:
            first, first_tokens = now, count
        last, tokens = now, tokens + count
    rate = (tokens - first_tokens) / (last - first) if last > first else 0.0
    return Sample((first - started) * 1000, rate, tokens)


def _bare_chat(llama: Any, prompt: str, params: SamplingParams) -> Iterator[int]:
    """The plain llama-cpp-python way: create_chat_completion(stream=True) in-process."""
    for chunk in llama.create_chat_completion(
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        min_p=params.min_p,
        repeat_penalty=params.repeat_penalty,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            yield 1


def _lean_loop(runner: LlamaRunner, prompt: str, params: SamplingParams) -> Iterator[int]:
    """The host's own token loop, in-process: what the pipeline would cost with no boundary."""
    for event in runner.stream([{"role": "user", "content": prompt}], params, lambda: False):
        if isinstance(event, TokenText) and event.tokens:
            yield event.tokens


def _pipeline(pipeline: Pipeline, prompt: str, options: RunOptions) -> Iterator[int]:
    for event in pipeline.run(prompt, options):
        if isinstance(event, Token):
            yield event.tokens
        elif isinstance(event, Failed):
            raise RuntimeError(f"pipeline failed during the benchmark: {event}")


CONVERSATION = (
    "Let's plan a small vegetable garden. What should I grow first?",
    "How often should I water those plants?",
    "What about pests? How do I keep them away without chemicals?",
    "Which of these plants can grow in containers on a balcony?",
    "Summarise our plan in three bullet points.",
)


def multi_turn_ttft(pipeline: Pipeline, options: RunOptions) -> dict[str, float]:
    """TTFT of each turn of one conversation: with the host's KV cache reused, turn 5 does
    not re-process turns 1-4. Then turn 5 again after an unrelated prompt evicted the cache."""
    history: list[dict[str, str]] = []
    ttfts: list[float] = []
    answer_tokens = min(64, options.params.max_tokens)
    last = replace(options, params=replace(options.params, max_tokens=answer_tokens))
    for prompt in CONVERSATION:
        last = replace(last, history=tuple(history))
        result = _finish(pipeline.run(prompt, last))
        ttfts.append(result.stats.ttft_ms)
        history += [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": result.text},
        ]
    _finish(pipeline.run("Name a colour.", replace(last, history=())))
    cold = _finish(pipeline.run(CONVERSATION[-1], last)).stats.ttft_ms
    return {
        "ttft_turn1_ms": round(ttfts[0], 2),
        "ttft_turn5_ms": round(ttfts[-1], 2),
        "ttft_turn5_without_cache_ms": round(cold, 2),
        "turn5_prompt_tokens": _finish(pipeline.run("Thanks!", last)).stats.prompt_tokens,
    }


def _finish(events: Iterator[PipelineEvent]) -> Finished:
    for event in events:
        if isinstance(event, Failed):
            raise RuntimeError(f"pipeline failed during the benchmark: {event.message}")
        if isinstance(event, Finished):
            return event
    raise RuntimeError("the pipeline ended without a result")


def _long_samples() -> list[str]:
    """Prompts of 1,000 to 4,000 characters, the kinds people paste: prose with an ask, code
    with a question, a log, mixed scripts."""
    prose = (
        "Our team moved the billing service to a new region last month and since then the "
        "nightly reconciliation job takes twice as long; the database is the same size. "
    )
    code = "def total(rows):\n    return sum(r.amount for r in rows if r.ok)\n\n"
    log = "2024-05-12 10:01:12 ERROR worker-3 timeout after 30s (retry 2/5) job=4411\n"
    mixed = "この関数は何をしますか\uff1f Что делает эта функция? ¿Qué hace esta función? "
    samples = []
    for size in (1000, 2000, 4000):
        for body, ask in (
            (prose, "What could cause this, and how do we find out?"),
            (code, "Why is this slow for a million rows? Fix it."),
            (log, "How many timeouts are there?"),
            (mixed, "Explain it in English."),
        ):
            text = body * (size // len(body) + 1)
            samples.append(text[: size - len(ask) - 1] + "\n" + ask)
    return samples


def _p99_ms(analyzer: TaskAnalyzer, prompts: Sequence[str], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        for prompt in prompts:
            started = time.perf_counter()
            analyzer.analyze(prompt)
            timings.append((time.perf_counter() - started) * 1000)
    return float(statistics.quantiles(timings, n=100)[98])


def analyzer_timings(repeats: int = 50) -> dict[str, float]:
    """p99 of one rating: over short prompts and ones up to 4,000 characters together, and
    on a 1 MB paste (the rater reads its first 4,000 and last 2,000 characters)."""
    analyzer = TaskAnalyzer()
    analyzer.analyze("warm up: the weights load on first use")
    long_samples = _long_samples()
    paste = (long_samples[-3] * 300)[:1_000_000]
    return {
        "analyzer_p99_ms": round(_p99_ms(analyzer, [*ANALYZER_SAMPLES, *long_samples], repeats), 4),
        "analyzer_1mb_p99_ms": round(_p99_ms(analyzer, [paste], max(repeats, 100)), 4),
    }


def _bare_llama(path: str, threads: int, flash_attn: bool) -> Any:
    import llama_cpp  # noqa: PLC0415 - the bare baselines run llama.cpp in this process

    return llama_cpp.Llama(
        model_path=path,
        n_ctx=N_CTX,
        n_threads=threads,
        n_threads_batch=threads,
        n_gpu_layers=0,
        flash_attn=flash_attn,
        verbose=False,
    )


class ModelBench:
    """One model measured four ways in one process: bare llama-cpp-python with its own
    defaults and with the pipeline's settings, the host's token loop in-process, and the full
    pipeline with its child process."""

    def __init__(self, model: ModelFile, max_tokens: int, progress: TextIO | None = None) -> None:
        import llama_cpp  # noqa: PLC0415

        self.model = model
        self.threads = physical_cores()
        self.params = SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=1)
        self.progress = progress
        path = str(model.path)
        # llama-cpp-python as it comes: flash attention off, its penalty sampler.
        self.bare_defaults = _bare_llama(path, self.threads, flash_attn=False)
        # The same library with the pipeline's settings: flash attention, our sampler chain,
        # the same threads, context and batch. What is left between it and the pipeline is
        # the pipeline's own work (child process, routing, receipts, thread policy).
        self.bare = _bare_llama(path, self.threads, flash_attn=True)
        bare = self.bare
        bare._init_sampler = lambda **_: Sampler(llama_cpp, bare, self.params)
        self.runner = LlamaRunner()
        self.runner.ensure_loaded(
            LoadSpec(model_path=path, n_ctx=N_CTX, n_threads=self.threads, n_gpu_layers=0)
        )
        self._scratch = tempfile.TemporaryDirectory(prefix="bizra-bench-")
        self.scratch = Path(self._scratch.name)
        self.pipeline = Pipeline(DataPaths(self.scratch))
        # n_threads 0: the app's default, the thread count adapting to the machine's load
        self.options = RunOptions(model_path=model.path, params=self.params, n_ctx=N_CTX)

    def __enter__(self) -> ModelBench:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pipeline.close()
        self.runner.unload()
        self.bare.close()
        self.bare_defaults.close()
        self._scratch.cleanup()

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.write(text + "\n")
            self.progress.flush()

    def compare(self, rounds: int) -> dict[str, Any]:
        """Decode speed and TTFT of the four contenders, alternating; medians, and ratios as
        the median of the rounds' own ratios (each round's runs share that minute's speed)."""
        contenders: dict[str, Callable[[str], Iterator[int]]] = {
            "bare_defaults": lambda prompt: _bare_chat(self.bare_defaults, prompt, self.params),
            "bare": lambda prompt: _bare_chat(self.bare, prompt, self.params),
            "lean": lambda prompt: _lean_loop(self.runner, prompt, self.params),
            "pipeline": lambda prompt: _pipeline(self.pipeline, prompt, self.options),
        }
        samples = _alternate(contenders, rounds, self.say)
        rates = _rates(samples)

        def median(name: str, metric: str) -> float:
            return float(statistics.median(getattr(sample, metric) for sample in samples[name]))

        return {
            "model": self.model.name,
            "threads": self.threads,
            "rounds": rounds,
            "max_tokens": self.params.max_tokens,
            "bare_tokens_per_s": round(median("bare", "tokens_per_s"), 2),
            "bare_defaults_tokens_per_s": round(median("bare_defaults", "tokens_per_s"), 2),
            "lean_tokens_per_s": round(median("lean", "tokens_per_s"), 2),
            "pipeline_tokens_per_s": round(median("pipeline", "tokens_per_s"), 2),
            "decode_ratio_same_settings": _paired_ratio(rates["pipeline"], rates["bare"]),
            "decode_ratio_vs_defaults": _paired_ratio(rates["pipeline"], rates["bare_defaults"]),
            "decode_ratio_vs_lean": _paired_ratio(rates["pipeline"], rates["lean"]),
            "bare_ttft_ms": round(median("bare", "ttft_ms"), 2),
            "pipeline_ttft_ms": round(median("pipeline", "ttft_ms"), 2),
            "ttft_overhead_ms": round(median("pipeline", "ttft_ms") - median("bare", "ttft_ms"), 2),
            "tokens_generated": {n: [s.tokens for s in runs] for n, runs in samples.items()},
            "rounds_tokens_per_s": {n: [round(r, 2) for r in v] for n, v in rates.items()},
        }

    def native_and_contention(
        self, llama_bench: Path | None, rounds: int, spinners: int
    ) -> dict[str, Any]:
        """Native figures (or how to get them) and, with spinners, the contention figures."""
        depth = self.prompt_tokens()
        figures: dict[str, Any] = {
            "prompt_tokens": depth,
            "llama_bench": str(llama_bench) if llama_bench else None,
        }
        if llama_bench is None:
            figures["native_missing"] = f"no native figures: no llama-bench; {llama_bench_hint()}"
            self.say(figures["native_missing"])
        else:
            figures |= native_comparison(self, llama_bench, depth, rounds)
        if spinners:
            figures["contention"] = contention(self, spinners, rounds, llama_bench, depth)
        return figures

    def multi_turn(self) -> dict[str, float]:
        return multi_turn_ttft(self.pipeline, self.options)

    def pipeline_rate(
        self,
        round_number: int,
        pipeline: Pipeline | None = None,
        options: RunOptions | None = None,
    ) -> float:
        """Decode tok/s of one pipeline answer to the benchmark task, on a fresh prompt."""
        time.sleep(SETTLE_S)
        prompt = f"({round_number}) {TASK}"
        run = _pipeline(pipeline or self.pipeline, prompt, options or self.options)
        return _measure(run).tokens_per_s

    def prompt_tokens(self) -> int:
        """How many tokens the pipeline's benchmark prompt is: the depth decoding starts at."""
        one = replace(self.options, params=replace(self.params, max_tokens=1))
        return _finish(self.pipeline.run(f"(1) {TASK}", one)).stats.prompt_tokens

    def speed_changes(self, rounds: int, conversation: dict[str, float]) -> list[dict[str, Any]]:
        """Each speed choice the host makes, measured against its alternative in this run:
        flash attention, one thread per physical core, the KV cache kept between turns, answer
        text sent in batches."""
        base = LoadSpec(
            model_path=str(self.model.path), n_ctx=N_CTX, n_threads=self.threads, n_gpu_layers=0
        )
        variants = {"flash attention off": replace(base, flash_attn=False), "chosen": base}
        if self.threads > 1:
            variants["one thread"] = replace(base, n_threads=1)
        rates = _lean_rates(variants, self.params, self.say, rounds)
        per_token, batched = self._stream_batching_rates(rounds)
        samplers = _lean_rates(
            {"llama-cpp-python's sampler": base, "ours": base},
            self.params,
            self.say,
            rounds,
            own_sampler={"llama-cpp-python's sampler": False, "ours": True},
        )
        changes = [
            _change(
                "flash_attn", "flash attention on", rates["flash attention off"], rates["chosen"]
            ),
            _change(
                "sampler",
                "repetition penalty on the recent tokens only, not the whole vocabulary",
                samplers["llama-cpp-python's sampler"],
                samplers["ours"],
            ),
            _change(
                "stream_batching",
                f"answer text sent every {STREAM_INTERVAL_S * 1000:.0f} ms, not per token",
                per_token,
                batched,
            ),
            {
                "key": "kv_cache",
                "change": "KV cache kept between turns",
                "metric": "turn-5 TTFT (ms)",
                "before": conversation["ttft_turn5_without_cache_ms"],
                "after": conversation["ttft_turn5_ms"],
                "speedup": round(
                    conversation["ttft_turn5_without_cache_ms"] / conversation["ttft_turn5_ms"], 3
                ),
            },
        ]
        if "one thread" in rates:
            changes.append(
                _change(
                    "threads",
                    f"{self.threads} threads (one per physical core) instead of 1",
                    rates["one thread"],
                    rates["chosen"],
                )
            )
        return changes

    def _stream_batching_rates(self, rounds: int) -> tuple[list[float], list[float]]:
        """Pipeline decode tok/s per round, with a message from the host per token and
        batched."""
        per_token = Pipeline(
            DataPaths(self.scratch / "per-token"),
            host=InferenceHost(stream_interval_s=0),
        )
        try:
            contenders: dict[str, Callable[[str], Iterator[int]]] = {
                "per token": partial(_pipeline, per_token, options=self.options),
                "batched": partial(_pipeline, self.pipeline, options=self.options),
            }
            rates = _rates(_alternate(contenders, rounds, self.say))
        finally:
            per_token.close()
        return rates["per token"], rates["batched"]


def _change(key: str, change: str, before: list[float], after: list[float]) -> dict[str, Any]:
    """Medians of decode tok/s without and with a change, and the speedup: the median of the
    rounds' own ratios, as each round's two runs share that minute's machine speed."""
    return {
        "key": key,
        "change": change,
        "metric": "decode tok/s",
        "before": round(statistics.median(before), 2),
        "after": round(statistics.median(after), 2),
        "speedup": round(_paired_ratio(after, before), 3),
    }


def _paired_ratio(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """The median of the rounds' own ratios: each round's two figures share that minute's
    machine speed, which drifts by 10 % from minute to minute here."""
    return round(statistics.median(a / b for a, b in zip(ours, theirs, strict=True)), 4)


def _alternate(
    contenders: dict[str, Callable[[str], Iterator[int]]],
    rounds: int,
    say: Callable[[str], None],
) -> dict[str, list[Sample]]:
    """Every contender once per round on a fresh prompt, in rotating order, after a warm-up."""
    for name, contender in contenders.items():  # warm-up: loads, spawns, hashes
        _measure(contender("Say hi."))
        say(f"warmed up {name}")
    samples: dict[str, list[Sample]] = {name: [] for name in contenders}
    for round_number in range(1, rounds + 1):
        prompt = f"({round_number}) {TASK}"  # new prompt: no contender hits its cache
        names = list(contenders)
        shift = round_number % len(names)  # rotate so no contender always goes first
        for name in names[shift:] + names[:shift]:
            # llama.cpp's OpenMP workers spin for a while after each batch; let the
            # previous contender's threads go idle so they do not steal this one's cores.
            time.sleep(SETTLE_S)
            samples[name].append(_measure(contenders[name](prompt)))
        say(
            f"round {round_number}/{rounds}: "
            + ", ".join(f"{n} {runs[-1].tokens_per_s:.1f} tok/s" for n, runs in samples.items())
        )
    return samples


def _lean_rates(
    specs: dict[str, LoadSpec],
    params: SamplingParams,
    say: Callable[[str], None],
    rounds: int,
    own_sampler: dict[str, bool] | None = None,
) -> dict[str, list[float]]:
    """Decode tok/s of the host's token loop under each load spec (and sampler), per round,
    alternating."""
    runners = {name: LlamaRunner((own_sampler or {}).get(name, True)) for name in specs}
    try:
        for name, runner in runners.items():
            runner.ensure_loaded(specs[name])
        contenders: dict[str, Callable[[str], Iterator[int]]] = {
            name: partial(_lean_loop, runner, params=params) for name, runner in runners.items()
        }
        return _rates(_alternate(contenders, rounds, say))
    finally:
        for runner in runners.values():
            runner.unload()


def _rates(samples: dict[str, list[Sample]]) -> dict[str, list[float]]:
    """Each contender's decode tok/s, round by round."""
    return {name: [sample.tokens_per_s for sample in runs] for name, runs in samples.items()}


def find_llama_bench(given: Path | None = None) -> Path | None:
    """llama.cpp's own llama-bench: the one given, else the one scripts/build_llama_bench.sh
    built, else one on PATH. A given path that is not there is an error, not a silent skip."""
    if given is not None:
        if not given.is_file():
            raise ValueError(f"--llama-bench {given}: no such file; {llama_bench_hint()}")
        return given
    if BUILT_LLAMA_BENCH.is_file():
        return BUILT_LLAMA_BENCH
    found = shutil.which("llama-bench")
    return Path(found) if found else None


def llama_bench_hint() -> str:
    return (
        f"build llama.cpp's llama-bench with `{BUILD_LLAMA_BENCH}` (a few minutes; it "
        f"writes {BUILT_LLAMA_BENCH.relative_to(BUILT_LLAMA_BENCH.parents[2])}, found there "
        "by default), put one on PATH, or pass --llama-bench PATH"
    )


def native_decode_rate(
    llama_bench: Path, model: ModelFile, threads: int, depth: int = 0, repetitions: int = 1
) -> float | None:
    """tg128 tokens/s from llama.cpp's own llama-bench, `depth` tokens into the context (the
    pipeline decodes after its prompt), or None if it cannot run."""
    command = [str(llama_bench), "-m", str(model.path), "-t", str(threads), "-p", "0"]
    command += ["-n", "128", "-d", str(depth), "-r", str(repetitions), "-o", "json"]
    try:
        output = subprocess.run(
            command, capture_output=True, text=True, timeout=600, check=True
        ).stdout
        return float(json.loads(output)[0]["avg_ts"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return None


def native_comparison(
    bench: ModelBench, llama_bench: Path, depth: int, rounds: int
) -> dict[str, Any]:
    """The pipeline against llama.cpp's own llama-bench, one run of each per round, in turn,
    on the same threads: decoding after a prompt as long as the pipeline's, and on an empty
    context. `native_ratio` is the median of the rounds' own ratios."""
    rates: dict[str, list[float]] = {"pipeline": [], "native": [], "native_empty_context": []}
    # llama-bench decodes its 128 tokens once before it times them; the pipeline gets the
    # same: one full answer first, so neither pays for first-touched memory in the rounds.
    bench.pipeline_rate(0)
    for round_number in range(1, rounds + 1):
        native_first = round_number % 2 == 0  # alternate, so drift favours neither side
        if not native_first:
            rates["pipeline"].append(bench.pipeline_rate(round_number))
        for key, at in (("native", depth), ("native_empty_context", 0)):
            time.sleep(SETTLE_S)
            rate = native_decode_rate(llama_bench, bench.model, bench.threads, at)
            if rate is None:
                return {"native_error": f"{llama_bench} did not run on {bench.model.path}"}
            rates[key].append(rate)
        if native_first:
            rates["pipeline"].append(bench.pipeline_rate(round_number))
        bench.say(
            f"native round {round_number}/{rounds}: pipeline {rates['pipeline'][-1]:.1f}, "
            f"native {rates['native'][-1]:.1f} tok/s"
        )
    return {
        "native_depth": depth,
        "native_ratio": _paired_ratio(rates["pipeline"], rates["native"]),
        "native_ratio_empty_context": _paired_ratio(
            rates["pipeline"], rates["native_empty_context"]
        ),
        "paired_pipeline_tokens_per_s": round(statistics.median(rates["pipeline"]), 2),
        "native_tokens_per_s": round(statistics.median(rates["native"]), 2),
        "native_empty_context_tokens_per_s": round(
            statistics.median(rates["native_empty_context"]), 2
        ),
        "native_rounds": {key: [round(r, 2) for r in values] for key, values in rates.items()},
    }


def _native_after_settling(llama_bench: Path, model: ModelFile, threads: int, depth: int) -> float:
    time.sleep(SETTLE_S)
    return native_decode_rate(llama_bench, model, threads, depth) or 0.0


SPINNER = "while True: pass"


@contextmanager
def spinning(count: int) -> Iterator[None]:
    """`count` processes that each keep a core busy, as a build or a browser tab does."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPINNER]) for _ in range(count)]
    try:
        time.sleep(SETTLE_S)  # started, and visible in the machine's load
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


def contention(
    bench: ModelBench, spinners: int, rounds: int, llama_bench: Path | None, depth: int
) -> dict[str, Any]:
    """Decode tok/s with nothing else running and beside `spinners` busy processes, in the same
    rounds: the pipeline as the app runs it (thread count adapting), the pipeline with the
    thread count fixed at one per physical core, and native llama-bench at every thread count
    from 1 to the physical cores."""
    fixed = Pipeline(DataPaths(bench.scratch / "fixed-threads"))
    fixed_options = replace(bench.options, n_threads=bench.threads)
    counts = range(1, bench.threads + 1) if llama_bench else range(0)
    names = ["pipeline", "pipeline_fixed_threads", *(f"native_{t}" for t in counts)]
    rates: dict[str, dict[str, list[float]]] = {
        load: {name: [] for name in names} for load in ("quiet", "loaded")
    }
    try:
        bench.pipeline_rate(0, fixed, fixed_options)  # warm, as the other pipeline is
        for round_number in range(1, rounds + 1):
            for load, count in (("quiet", 0), ("loaded", spinners)):
                runs: dict[str, Callable[[], float]] = {
                    "pipeline": partial(bench.pipeline_rate, round_number),
                    "pipeline_fixed_threads": partial(
                        bench.pipeline_rate, round_number, fixed, fixed_options
                    ),
                }
                for threads in counts:
                    assert llama_bench is not None
                    runs[f"native_{threads}"] = partial(
                        _native_after_settling, llama_bench, bench.model, threads, depth
                    )
                order = list(runs) if round_number % 2 else list(reversed(runs))
                with spinning(count):
                    for name in order:  # alternate, so drift favours no contender
                        rates[load][name].append(runs[name]())
                bench.say(
                    f"contention round {round_number}/{rounds}, {load}: "
                    + ", ".join(f"{n} {v[-1]:.1f}" for n, v in rates[load].items())
                )
    finally:
        fixed.close()
    return _contention_figures(rates, spinners, rounds, depth, list(counts))


def _contention_figures(
    rates: dict[str, dict[str, list[float]]],
    spinners: int,
    rounds: int,
    depth: int,
    counts: list[int],
) -> dict[str, Any]:
    def med(load: str, name: str) -> float:
        return round(statistics.median(rates[load][name]), 2)

    quiet, loaded = rates["quiet"], rates["loaded"]
    figures: dict[str, Any] = {
        "spinning_processes": spinners,
        "rounds": rounds,
        "pipeline_quiet_tokens_per_s": med("quiet", "pipeline"),
        "pipeline_loaded_tokens_per_s": med("loaded", "pipeline"),
        "pipeline_fixed_threads_quiet_tokens_per_s": med("quiet", "pipeline_fixed_threads"),
        "pipeline_fixed_threads_loaded_tokens_per_s": med("loaded", "pipeline_fixed_threads"),
        # What adapting costs when nothing competes (target >= 0.95).
        "quiet_ratio_vs_fixed_threads": _paired_ratio(
            quiet["pipeline"], quiet["pipeline_fixed_threads"]
        ),
        "loaded_ratio_vs_fixed_threads": _paired_ratio(
            loaded["pipeline"], loaded["pipeline_fixed_threads"]
        ),
        "loaded_ratio_vs_quiet": _paired_ratio(loaded["pipeline"], quiet["pipeline"]),
        "rounds_tokens_per_s": {
            load: {name: [round(r, 2) for r in values] for name, values in by_name.items()}
            for load, by_name in rates.items()
        },
    }
    if counts:
        figures["native_depth"] = depth
        figures["native"] = [
            {
                "threads": threads,
                "quiet_tokens_per_s": med("quiet", f"native_{threads}"),
                "loaded_tokens_per_s": med("loaded", f"native_{threads}"),
            }
            for threads in counts
        ]
        for load in ("quiet", "loaded"):
            best = max(counts, key=lambda t: statistics.median(rates[load][f"native_{t}"]))
            figures[f"best_native_threads_{load}"] = best
            # Target under load: >= 0.9 of the best native thread count under the same load.
            figures[f"{load}_ratio_vs_best_native"] = _paired_ratio(
                rates[load]["pipeline"], rates[load][f"native_{best}"]
            )
    return figures


def run_benchmark(
    *,
    model_path: Path | None = None,
    max_tokens: int = 128,
    rounds: int = ROUNDS,
    progress: TextIO | None = None,
    llama_bench: Path | None = None,
    spinners: int = 0,
) -> dict[str, Any]:
    """The comparisons above on one model; native ones when llama-bench is found (else a note
    saying how to build it), the contention figures when `spinners` > 0."""
    path = model_path or starter_model_path()
    if path is None:
        raise ValueError("no model to benchmark: the starter model is not installed")
    native = find_llama_bench(llama_bench)
    with ModelBench(open_model(path, is_starter=model_path is None), max_tokens, progress) as bench:
        report = bench.compare(rounds)
        conversation = bench.multi_turn()
        bench.say(f"multi-turn: {conversation}")
        report |= bench.native_and_contention(native, rounds, spinners)
    return {**report, **analyzer_timings(), **conversation}
