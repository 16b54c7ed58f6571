"""The thread policy: its decisions replayed on per-token times recorded on this 2-core machine
(SmolLM2-135M: about 7.8 ms a token on 2 threads and 11.7 on 1 when nothing else runs; 25-33 ms
on 2 threads and 12-13 on 1 beside one `yes`), then the real thing on the starter model."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from bizra_desktop.core.engine.protocol import LoadSpec, SamplingParams, TokenText
from bizra_desktop.core.engine.runner import LlamaRunner
from bizra_desktop.core.engine.threads import (
    CpuMonitor,
    CpuSample,
    PolicyConfig,
    ThreadPolicy,
    others_busy,
)
from bizra_desktop.core.hardware import physical_cores
from tests.helpers import starter_path

QUIET = {2: 0.0078, 1: 0.0117}  # seconds a token, nothing else running
LOADED = {2: 0.029, 1: 0.0125}  # beside one spinning process
JITTER = (1.0, 1.04, 0.97, 1.1, 0.99, 1.02, 0.96, 1.05)  # the spread of recorded tokens


def replay(
    policy: ThreadPolicy, times: dict[int, float], busy: float | None, tokens: int
) -> list[int]:
    """Feeds `tokens` per-token times taken at whatever count the policy runs; returns the
    count each token ran at."""
    counts = []
    for index in range(tokens):
        counts.append(policy.threads)
        policy.observe(times[policy.threads] * JITTER[index % len(JITTER)], busy)
    return counts


def test_a_quiet_machine_keeps_every_thread_and_never_tries_fewer() -> None:
    policy = ThreadPolicy(2)
    assert policy.begin(others_busy=0.02) == 2
    counts = replay(policy, QUIET, busy=0.02, tokens=2000)
    assert set(counts) == {2} and policy.switches == 0


def test_a_busy_core_moves_decoding_to_one_thread_within_a_few_tokens() -> None:
    policy = ThreadPolicy(2)
    policy.begin(others_busy=0.0)
    replay(policy, QUIET, busy=0.0, tokens=16)  # a quiet start sets the reference
    counts = replay(policy, LOADED, busy=0.7, tokens=400)
    assert counts.index(1) <= PolicyConfig().window + 1
    # once moved, it stays: trials back up only every probe_up_every tokens while busy
    assert counts[20:].count(2) <= 2 * (PolicyConfig().probe_tokens + 1)


def test_slower_tokens_alone_start_a_trial_when_the_load_is_unseen() -> None:
    """Where nothing reports the machine's load (busy None), the slowdown against the quiet
    reading is the signal."""
    policy = ThreadPolicy(2)
    policy.begin(others_busy=None)
    replay(policy, QUIET, busy=None, tokens=16)
    counts = replay(policy, LOADED, busy=None, tokens=100)
    assert counts[-1] == 1


def test_when_the_load_goes_the_threads_come_back() -> None:
    policy = ThreadPolicy(2)
    assert policy.begin(others_busy=1.0) == 1  # started beside a busy core
    replay(policy, LOADED, busy=1.0, tokens=100)
    counts = replay(policy, QUIET, busy=0.0, tokens=100)
    assert counts[-1] == 2 and counts.index(2) <= PolicyConfig().window + 1


def test_a_trial_that_does_not_help_is_undone_and_not_retried_at_once() -> None:
    """Other processes busy, yet 2 threads still decode faster than 1 (a light load): the
    trial down fails and waits longer each time."""
    times = {2: 0.0085, 1: 0.0117}
    policy = ThreadPolicy(2)
    policy.begin(others_busy=0.0)
    counts = replay(policy, times, busy=0.6, tokens=2000)
    assert counts[-1] == 2
    assert counts.count(1) < 0.05 * len(counts)  # the failed trials cost under 5 % of tokens


def test_start_from_the_cores_others_keep_busy() -> None:
    policy = ThreadPolicy(4)
    assert policy.begin(others_busy=0.2) == 4
    assert policy.begin(others_busy=1.1) == 3
    assert policy.begin(others_busy=2.6) == 1
    assert policy.begin(others_busy=9.0) == 1
    assert policy.begin(others_busy=None) == 1  # unknown: the last choice stands
    with pytest.raises(ValueError, match="at least 1"):
        ThreadPolicy(0)


def test_others_busy_leaves_out_this_process() -> None:
    before = CpuSample(at=10.0, busy=100.0, own=5.0)
    after = CpuSample(at=10.5, busy=101.0, own=5.4)  # 1 CPU-second in all, 0.4 of it ours
    assert others_busy(before, after) == pytest.approx(1.2)
    assert others_busy(after, after) == 0.0


@pytest.fixture
def spinner() -> Iterator[None]:
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)
    yield
    process.kill()
    process.wait()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_monitor_sees_a_busy_process(spinner: None) -> None:
    monitor = CpuMonitor()
    try:
        time.sleep(0.4)
        busy = monitor.others_busy()
        assert busy is not None and busy >= 0.5
    finally:
        monitor.close()


@pytest.mark.model
@pytest.mark.skipif(physical_cores() < 2, reason="one core has no fewer threads to go to")
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_starter_model_decodes_on_fewer_threads_beside_a_busy_core(spinner: None) -> None:
    import llama_cpp  # noqa: PLC0415

    params = SamplingParams(temperature=0.0, max_tokens=48, seed=1)
    messages = [{"role": "user", "content": "Name three rivers."}]
    answers = []
    for adaptive in (False, True):
        runner = LlamaRunner()
        try:
            runner.ensure_loaded(
                LoadSpec(
                    model_path=str(starter_path()),
                    n_ctx=2048,
                    n_threads=2,
                    n_gpu_layers=0,
                    adaptive_threads=adaptive,
                )
            )
            events = list(runner.stream(messages, params, lambda: False))
            answers.append("".join(e.text for e in events if isinstance(e, TokenText)))
            loaded = runner._loaded
            assert loaded is not None
            threads = llama_cpp.llama_n_threads(loaded.llama._ctx.ctx)
        finally:
            runner.unload()
        assert threads == (1 if adaptive else 2)
    assert answers[0] == answers[1]  # the thread count changes the speed, not the tokens
