"""Remote tiers: a tier answered by an OpenAI-compatible server (llama.cpp's server, vLLM,
Ollama) on a bigger machine, streamed like a local model.

The HTTP is plain `http.client`: one streaming request, server-sent events read line by line,
and a stop that closes the connection from any thread.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bizra_desktop.core.engine.protocol import FinishReason, SamplingParams
from bizra_desktop.core.tiers import Tier


class RemoteError(Exception):
    """The endpoint could not be used; str() is one line for the user."""


class RemoteUnavailableError(RemoteError):
    """Nothing came back before the first token: another model can still answer."""


@dataclass(frozen=True, kw_only=True)
class RemoteEndpoint:
    tier: Tier
    base_url: str  # e.g. http://workstation:8080/v1
    model: str  # the name the server knows the model by
    api_key: str = ""
    timeout_s: float = 30.0  # to connect and to the first token

    is_starter = False  # the selector treats a remote tier like an installed model

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"remote endpoint {self.base_url!r} is not an http(s) URL")

    @property
    def name(self) -> str:
        return f"{self.model} @ {urlsplit(self.base_url).netloc}"

    def memory_needed(self, n_ctx: int) -> int:
        del n_ctx  # it runs on the server: nothing of this machine's memory
        return 0


def load_remote_tiers(path: Path) -> dict[Tier, RemoteEndpoint]:
    """The configured remote tiers; a missing or unreadable file configures none."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return {
            Tier.parse(name): RemoteEndpoint(
                tier=Tier.parse(name),
                **{key: value for key, value in entry.items() if key != "tier"},
            )
            for name, entry in entries.items()
        }
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def save_remote_tiers(path: Path, endpoints: Mapping[Tier, RemoteEndpoint]) -> None:
    records = {
        tier.name.lower(): {k: v for k, v in asdict(endpoint).items() if k != "tier"}
        for tier, endpoint in endpoints.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(records, indent=2), encoding="utf-8")
    if os.name != "nt":
        temporary.chmod(0o600)  # it may hold an API key
    os.replace(temporary, path)


@dataclass(frozen=True)
class RemoteDelta:
    text: str


@dataclass(frozen=True)
class RemoteDone:
    server_model: str  # the model id the server reported
    prompt_tokens: int | None
    completion_tokens: int
    finish_reason: FinishReason


class RemoteClient:
    """Streams one chat completion at a time; `stop()` may be called from any thread."""

    def __init__(self) -> None:
        self._connection: http.client.HTTPConnection | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._connection is not None and self._connection.sock is not None:
                # Unblocks the reader at once; it sees the stop flag and ends the answer.
                self._connection.sock.close()

    def stream(
        self, endpoint: RemoteEndpoint, messages: Sequence[dict[str, str]], params: SamplingParams
    ) -> Iterator[RemoteDelta | RemoteDone]:
        self._stopped.clear()
        response = self._open(endpoint, messages, params)
        server_model = endpoint.model
        completion_tokens = 0
        prompt_tokens: int | None = None
        finish: FinishReason | None = None
        try:
            for event in _server_sent_events(response.readline, self._stopped.is_set):
                server_model = str(event.get("model") or server_model)
                usage = event.get("usage") or {}
                prompt_tokens = usage.get("prompt_tokens", prompt_tokens)
                for choice in event.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        completion_tokens += 1  # servers send one token a chunk
                        yield RemoteDelta(text)
                    reason = choice.get("finish_reason")
                    if reason:
                        finish = FinishReason.STOP if reason == "stop" else FinishReason.LENGTH
        except OSError as error:
            if not self._stopped.is_set():
                raise RemoteError(
                    f"{endpoint.name} stopped answering mid-stream ({error})"
                ) from None
        finally:
            self._close()
        if self._stopped.is_set():
            finish = FinishReason.STOPPED
        elif finish is None:  # the stream ended without saying why: the server went away
            raise RemoteError(f"{endpoint.name} stopped answering mid-stream (connection closed)")
        yield RemoteDone(server_model, prompt_tokens, completion_tokens, finish)

    def _open(
        self, endpoint: RemoteEndpoint, messages: Sequence[dict[str, str]], params: SamplingParams
    ) -> http.client.HTTPResponse:
        parts = urlsplit(endpoint.base_url)
        factory = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        body: dict[str, Any] = {
            "model": endpoint.model,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        connection = factory(parts.netloc, timeout=endpoint.timeout_s)
        with self._lock:
            self._connection = connection
        try:
            connection.request(
                "POST", parts.path.rstrip("/") + "/chat/completions", json.dumps(body), headers
            )
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            self._close()
            raise RemoteUnavailableError(f"{endpoint.name} did not answer ({error})") from None
        if response.status != 200:
            detail = response.read(500).decode("utf-8", "replace").strip().splitlines()
            self._close()
            raise RemoteUnavailableError(
                f"{endpoint.name} answered HTTP {response.status}"
                + (f": {detail[0][:200]}" if detail else "")
            )
        return response

    def _close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _server_sent_events(
    readline: Callable[[], bytes], stopped: Callable[[], bool]
) -> Iterator[dict[str, Any]]:
    """The JSON payloads of `data:` lines until `[DONE]`, the end of the stream or a stop."""
    while not stopped():
        line = readline()
        if not line:
            return
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("data:"):
            continue
        payload = text[5:].strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except ValueError:
            continue  # a keep-alive or a comment
        if isinstance(event, dict):
            yield event
