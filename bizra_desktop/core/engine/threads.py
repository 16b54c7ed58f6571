"""How many threads llama.cpp decodes with: chosen from what the machine has free, and changed
while an answer is generated when other processes take cores.

llama.cpp's threads meet at a spinning barrier after every operation of every token. When
another process takes one of their cores, the others spin until the scheduler gives it back:
on two cores with one `yes` beside it, llama.cpp's own llama-bench drops from 127 to 40 tok/s
with 2 threads but keeps 73-90 with 1. Letting the barrier sleep instead (this llama.cpp is built
with OpenMP, so `OMP_WAIT_POLICY=PASSIVE`; its threadpool `poll` level only applies to non-OpenMP
builds) measured 57 tok/s loaded but 50 instead of 130 quiet, so the spin stays and the thread
count moves: `llama_set_n_threads` changes it on a live context, between two tokens.

`ThreadPolicy` is the decision alone (fed numbers, no clocks, no llama.cpp: tests replay recorded
ones); `CpuMonitor` reads how busy other processes keep the machine; `ThreadGovernor` joins them
to one loaded model.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

# Tokens after a change of thread count, and the first of an answer (its time holds the
# prompt), that no reading counts: the threads are still waking.
SKIP_TOKENS = 1


@dataclass(frozen=True, kw_only=True)
class PolicyConfig:
    window: int = 8  # per-token times whose median is one reading
    probe_tokens: int = 4  # tokens a trial of another thread count is judged on
    slowdown: float = 1.3  # a reading this far above the quiet one suggests contention
    gain: float = 1.05  # a trial must be this much faster to be kept
    busy_cores: float = 0.5  # other processes keeping this many cores busy is contention
    # Tokens between trials of one thread more while others keep cores busy (or nothing says
    # whether they do): each costs a few slow tokens, so rarely.
    probe_up_every: int = 512
    # A failed trial makes the next one in the same direction wait this long, doubling up to
    # the cap: a signal that keeps misleading costs less and less.
    backoff_start: int = 8
    backoff_cap: int = 1024


class ThreadPolicy:
    """Which thread count, from 1 to `max_threads`, decodes fastest now.

    Runs at one count and reads the median per-token time of every `window` tokens. A reading
    well above the quietest one seen at that count, or other processes busy on a core, starts a
    trial of one thread fewer; while fewer threads run, a trial of one more starts as soon as
    the other processes leave a core free (and now and then regardless). A trial is kept only
    when it decodes faster than the reading it replaces, so a wrong signal costs a few tokens.
    """

    def __init__(self, max_threads: int, config: PolicyConfig | None = None) -> None:
        if max_threads < 1:
            raise ValueError(f"max_threads must be at least 1, not {max_threads}")
        self.max_threads = max_threads
        self.config = config or PolicyConfig()
        self.threads = max_threads
        self._quiet: dict[int, float] = {}  # the fastest reading seen per thread count
        self._times: list[float] = []
        self._skip = SKIP_TOKENS
        self._reading: float | None = None  # the latest reading at self.threads
        self._trial_from: tuple[int, float] | None = None  # (threads, reading) a trial left
        self._since_up = 0
        # Tokens before another trial down / up may start, and the wait after the next failure.
        self._wait = {-1: 0, 1: 0}
        self._next_wait = {-1: self.config.backoff_start, 1: self.config.backoff_start}
        self.switches = 0

    def begin(self, others_busy: float | None) -> int:
        """The thread count for a new answer, from the cores other processes kept busy just
        before it (None: unknown, keep the last choice)."""
        if self._trial_from is not None:  # the last answer ended inside a trial: undo it
            self.threads = self._trial_from[0]
            self._trial_from = None
        if others_busy is not None:
            free = self.max_threads - int(others_busy + 1 - self.config.busy_cores)
            self.threads = max(1, min(self.max_threads, free))
        self._times, self._skip, self._reading = [], SKIP_TOKENS, None
        return self.threads

    def observe(self, seconds: float, others_busy: float | None) -> int | None:
        """One token took `seconds` at the current count; `others_busy` is the cores other
        processes keep busy lately (None: unknown). Returns a new thread count, or None."""
        if self._skip:
            self._skip -= 1
            return None
        self._times.append(seconds)
        self._since_up += 1
        self._wait = {step: max(0, wait - 1) for step, wait in self._wait.items()}
        if self._trial_from is not None:
            return self._judge_trial() if len(self._times) >= self.config.probe_tokens else None
        if len(self._times) < self.config.window:
            return None
        reading = statistics.median(self._times)
        self._times = []
        self._reading = reading
        quiet = self._quiet.setdefault(self.threads, reading)
        self._quiet[self.threads] = min(quiet, reading)
        busy = others_busy is not None and others_busy >= self.config.busy_cores
        slow = reading > quiet * self.config.slowdown
        if self.threads > 1 and not self._wait[-1] and (busy or slow):
            return self._start_trial(self.threads - 1)
        free = others_busy is not None and not busy
        if self.threads < self.max_threads and (
            (free and not self._wait[1]) or self._since_up >= self.config.probe_up_every
        ):
            return self._start_trial(self.threads + 1)
        return None

    def _start_trial(self, threads: int) -> int:
        assert self._reading is not None
        if threads > self.threads:
            self._since_up = 0
        self._trial_from = (self.threads, self._reading)
        return self._switch(threads)

    def _judge_trial(self) -> int | None:
        assert self._trial_from is not None
        home, home_reading = self._trial_from
        trial = statistics.median(self._times)
        self._trial_from, self._times = None, []
        step = 1 if self.threads > home else -1
        if trial * self.config.gain < home_reading:
            self._reading = trial
            self._quiet[self.threads] = min(self._quiet.get(self.threads, trial), trial)
            self._next_wait[step] = self.config.backoff_start
            return None  # keep the trial's count
        self._wait[step] = self._next_wait[step]
        self._next_wait[step] = min(self._next_wait[step] * 2, self.config.backoff_cap)
        self._reading = home_reading
        return self._switch(home)

    def _switch(self, threads: int) -> int:
        self.threads = threads
        self._times, self._skip = [], SKIP_TOKENS
        self.switches += 1
        return threads


# How far back `CpuMonitor.others_busy` looks, and how often it takes a sample.
MONITOR_WINDOW_S = 0.25
MONITOR_PERIOD_S = 0.1


@dataclass(frozen=True)
class CpuSample:
    at: float  # time.monotonic()
    busy: float  # CPU-seconds every process spent, summed over cores
    own: float  # CPU-seconds this process spent (all its threads)


def read_cpu_sample() -> CpuSample | None:
    """Busy time of the whole machine and of this process, or None where /proc is missing."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    busy_ticks = sum(fields[:8]) - idle
    times = os.times()
    return CpuSample(
        time.monotonic(), busy_ticks / os.sysconf("SC_CLK_TCK"), times.user + times.system
    )


def others_busy(before: CpuSample, after: CpuSample) -> float:
    """Cores that other processes kept busy between two samples."""
    elapsed = after.at - before.at
    if elapsed <= 0:
        return 0.0
    return max(0.0, ((after.busy - before.busy) - (after.own - before.own)) / elapsed)


class CpuMonitor:
    """Samples the machine's busy time a few times a second on a daemon thread, so the cores
    other processes keep busy right now are known at once when an answer starts."""

    def __init__(self) -> None:
        self._samples: deque[CpuSample] = deque(maxlen=8)
        self._stop = threading.Event()
        first = read_cpu_sample()
        self.available = first is not None
        if first is not None:
            self._samples.append(first)
            threading.Thread(target=self._run, name="cpu-monitor", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(MONITOR_PERIOD_S):
            sample = read_cpu_sample()
            if sample is not None:
                self._samples.append(sample)

    def others_busy(self) -> float | None:
        """Cores other processes kept busy over about the last quarter second."""
        now = read_cpu_sample()
        if now is None or not self._samples:
            return None
        before = next(
            (s for s in reversed(self._samples) if now.at - s.at >= MONITOR_WINDOW_S),
            self._samples[0],
        )
        return others_busy(before, now)

    def close(self) -> None:
        self._stop.set()


@cache
def shared_monitor() -> CpuMonitor:
    """One monitor for every model loaded in this process."""
    return CpuMonitor()


# How often, at most, the governor asks the monitor during an answer.
BUSY_CHECK_S = 0.1


class ThreadGovernor:
    """The policy applied to one llama.cpp context: `answer()` before each answer returns the
    callback the decode loop calls once per generated token."""

    def __init__(
        self,
        set_threads: Callable[[int], None],
        max_threads: int,
        monitor: CpuMonitor | None = None,
        config: PolicyConfig | None = None,
    ) -> None:
        self._set_threads = set_threads
        self.policy = ThreadPolicy(max_threads, config)
        self.monitor = monitor or shared_monitor()

    @classmethod
    def for_llama(cls, llama_cpp: Any, llama: Any, max_threads: int) -> ThreadGovernor:
        context = llama._ctx.ctx

        def set_threads(threads: int) -> None:
            # decoding and prompt batches alike: both wait at the same barriers
            llama_cpp.llama_set_n_threads(context, threads, threads)

        return cls(set_threads, max_threads)

    def answer(self) -> Callable[[], None]:
        threads = self.policy.begin(self.monitor.others_busy())
        self._set_threads(threads)
        last = time.perf_counter()
        busy: float | None = None
        busy_at = 0.0

        def tick() -> None:
            nonlocal last, busy, busy_at
            now = time.perf_counter()
            if now - busy_at >= BUSY_CHECK_S:
                busy, busy_at = self.monitor.others_busy(), now
            change = self.policy.observe(now - last, busy)
            if change is not None:
                self._set_threads(change)
            last = time.perf_counter()

        return tick

    @property
    def threads(self) -> int:
        return self.policy.threads
