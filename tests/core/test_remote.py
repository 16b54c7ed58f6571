"""Remote tiers against a real OpenAI-compatible server: llama-cpp-python's own, on 127.0.0.1,
serving the built-in model."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bizra_desktop.core.engine.protocol import FinishReason, SamplingParams
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import (
    Failed,
    Finished,
    Pipeline,
    PipelineEvent,
    Routed,
    RunOptions,
    Token,
)
from bizra_desktop.core.remote import RemoteEndpoint, load_remote_tiers, save_remote_tiers
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path

pytestmark = pytest.mark.model
DESIGN = "Design a distributed rate limiter for a global API."
SHORT = RunOptions(params=SamplingParams(temperature=0.0, max_tokens=24, seed=3))
LONG = RunOptions(params=SamplingParams(temperature=0.0, max_tokens=300, seed=3))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(starter_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--model_alias",
            "smollm2-on-the-workstation",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/v1/models")
            if connection.getresponse().status == 200:
                return server, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.3)
        finally:
            connection.close()
        if server.poll() is not None:
            break
    server.kill()
    raise RuntimeError("llama_cpp.server did not start")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.kill()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server, url = _start_server()
    yield url
    _stop(server)


def _pipeline_with_remote(tmp_path: Path, url: str) -> Pipeline:
    paths = DataPaths(tmp_path / "home").ensure()
    endpoint = RemoteEndpoint(
        tier=Tier.MEDIUM, base_url=url, model="smollm2-on-the-workstation", timeout_s=20
    )
    save_remote_tiers(paths.remote_tiers, {Tier.MEDIUM: endpoint})
    return Pipeline(paths)


def _result(events: list[PipelineEvent]) -> Finished:
    assert isinstance(events[-1], Finished), events[-1]
    return events[-1]


def test_the_remote_tier_file_round_trips_and_keeps_its_key_private(tmp_path: Path) -> None:
    path = tmp_path / "remote_tiers.json"
    endpoint = RemoteEndpoint(
        tier=Tier.LARGE, base_url="https://gpu-box:8443/v1", model="qwen2.5-14b", api_key="secret"
    )
    save_remote_tiers(path, {Tier.LARGE: endpoint})
    assert load_remote_tiers(path) == {Tier.LARGE: endpoint}
    assert path.stat().st_mode & 0o077 == 0
    path.write_text("{not json")
    assert load_remote_tiers(path) == {}
    with pytest.raises(ValueError, match="not an http"):
        RemoteEndpoint(tier=Tier.LARGE, base_url="ftp://x/v1", model="m")


def test_an_expert_prompt_streams_from_the_remote_tier(tmp_path: Path, server_url: str) -> None:
    pipeline = _pipeline_with_remote(tmp_path, server_url)
    try:
        events = list(pipeline.run(DESIGN, SHORT))
        routed = events[0]
        assert isinstance(routed, Routed) and isinstance(routed.decision.model, RemoteEndpoint)
        assert routed.decision.tier is Tier.MEDIUM and routed.decision.fallback is None
        assert sum(isinstance(e, Token) for e in events) > 3
        result = _result(events)
        assert result.stats.backend == "remote"
        assert result.stats.ttft_ms > 0 and result.stats.tokens_per_s > 0
        model = result.receipt.body["model"]
        assert model == {"name": "smollm2-on-the-workstation", "endpoint": server_url}
        assert pipeline.chain.verify().ok
    finally:
        pipeline.close()


def test_a_remote_answer_stops_at_once(tmp_path: Path, server_url: str) -> None:
    pipeline = _pipeline_with_remote(tmp_path, server_url)
    try:
        events = []
        for event in pipeline.run(DESIGN, LONG):
            events.append(event)
            if sum(isinstance(e, Token) for e in events) == 5:
                pipeline.stop()
        result = _result(events)
        assert result.stats.finish_reason is FinishReason.STOPPED
        assert result.stats.completion_tokens <= 6
        assert result.receipt.body["stopped"] is True
    finally:
        pipeline.close()


def test_an_endpoint_that_goes_down_mid_stream_then_falls_back_locally(tmp_path: Path) -> None:
    server, url = _start_server()
    pipeline = _pipeline_with_remote(tmp_path, url)
    try:
        events = []
        for event in pipeline.run(DESIGN, LONG):
            events.append(event)
            if sum(isinstance(e, Token) for e in events) == 3:
                _stop(server)
        failure = events[-1]
        assert isinstance(failure, Failed) and failure.kind == "remote"
        assert "stopped answering mid-stream" in failure.message
        receipts = len(pipeline.chain)

        events = list(pipeline.run(DESIGN, SHORT))  # the server is gone now
        routes = [e for e in events if isinstance(e, Routed)]
        assert isinstance(routes[0].decision.model, RemoteEndpoint)
        assert routes[-1].decision.model.is_starter
        result = _result(events)
        assert result.note is not None and "did not answer" in result.note
        assert "on this machine instead" in result.note
        assert len(pipeline.chain) == receipts + 1
    finally:
        _stop(server)
        pipeline.close()
