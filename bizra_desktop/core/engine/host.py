"""The inference host: llama.cpp in a child process.

A GGML_ASSERT, an out-of-memory abort or a corrupt model kills the process that holds
llama.cpp; keeping it in a child means the app survives, reports the failure and starts a new
host for the next request. Killing the child is also the only way to cancel a model load.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from bizra_desktop.core.engine.protocol import (
    FailureKind,
    GenerateRequest,
    GenerationDone,
    HostEvent,
    HostFailure,
    ModelLoaded,
    ModelLoading,
    PromptReady,
    Shutdown,
    TokenText,
)

_SPAWN = multiprocessing.get_context("spawn")  # fork is unsafe beside Qt's threads
_SHUTDOWN_GRACE_S = 5.0
# Rendering a chat template takes milliseconds; a template that loops for longer is stopped.
TEMPLATE_LIMIT_S = 10.0
# Answer text crosses to the app at most this often: a message per token costs both processes
# a wake-up, and on a machine with few cores those wake-ups are taken from llama.cpp's threads.
# 30 ms is faster than the window repaints and far below what a reader notices.
STREAM_INTERVAL_S = 0.03


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped responding"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            return "was killed (SIGKILL; out of memory or ended by another program)"
        if name == "SIGABRT":
            return "aborted (SIGABRT; llama.cpp hit an internal error, often a broken model file)"
        return f"crashed ({name})"
    if exitcode == 0xC0000005:
        return "crashed (access violation)"
    return f"exited with code {exitcode}"


def _stop_requested(stop_job: Synchronized[int], job: int) -> bool:
    return stop_job.value == job


def _host_main(conn: Connection, stop_job: Synchronized[int], stream_interval_s: float) -> None:
    """Child process: serve GenerateRequests until Shutdown or the parent goes away."""
    from bizra_desktop.core.engine.runner import (  # noqa: PLC0415 - keep llama.cpp out of the app
        ContextOverflowError,
        LlamaRunner,
        ModelLoadError,
    )

    # Ctrl+C in a terminal reaches the whole process group; the parent decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    runner = LlamaRunner()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(request, Shutdown):
            runner.unload()
            return
        job = request.job_id
        try:
            conn.send(ModelLoading(job, request.load.model_path))
            loaded = runner.ensure_loaded(request.load, request.draft, request.memory_allowed)
            conn.send(replace(loaded, job_id=job))
            sender = _EventSender(conn, job, stream_interval_s)
            for event in runner.stream(
                request.messages,
                request.params,
                partial(_stop_requested, stop_job, job),
                request.prompt_lookup,
            ):
                sender.send(event)
        except ModelLoadError as error:
            conn.send(HostFailure(job, FailureKind.BAD_MODEL, str(error)))
        except ContextOverflowError as error:
            conn.send(HostFailure(job, FailureKind.CONTEXT_OVERFLOW, str(error)))
        except (BrokenPipeError, EOFError):
            return
        except Exception as error:
            conn.send(HostFailure(job, FailureKind.INTERNAL, f"{type(error).__name__}: {error}"))


class _EventSender:
    """Sends one job's events, joining answer text that comes within `interval_s` of the last
    text sent. The first text goes at once (time to first token), and any other event first
    sends the text held back."""

    def __init__(self, conn: Connection, job: int, interval_s: float) -> None:
        self.conn = conn
        self.job = job
        self.interval_s = interval_s
        self.held: list[str] = []
        self.held_tokens = 0
        self.last_sent: float | None = None

    def send(self, event: HostEvent) -> None:
        if isinstance(event, TokenText):
            self.held.append(event.text)
            self.held_tokens += event.tokens
            now = time.monotonic()
            if self.last_sent is not None and now - self.last_sent < self.interval_s:
                return
            self.last_sent = now
            self._send_held()
            return
        self._send_held()
        self.conn.send(replace(event, job_id=self.job))

    def _send_held(self) -> None:
        if self.held:  # an entry per TokenText, even one with no text yet (a split character)
            self.conn.send(TokenText(self.job, "".join(self.held), self.held_tokens))
            self.held.clear()
            self.held_tokens = 0


def _exit_with_parent() -> None:
    """End this process as soon as the app's process ends, however it ended (SIGKILL too).
    The pipe shows the end only at the next send, and a load, a long prompt or a runaway chat
    template sends nothing for as long as it runs."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch(sentinel: int) -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, args=(parent.sentinel,), daemon=True).start()


class InferenceHost:
    """Parent-side handle. One request at a time; `stop()` may be called from any thread.

    `stream_interval_s` is how often answer text crosses over (0: every token, as it comes).
    """

    def __init__(self, stream_interval_s: float = STREAM_INTERVAL_S) -> None:
        self.stream_interval_s = stream_interval_s
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._stop_job: Synchronized[int] = _SPAWN.Value("q", 0, lock=False)
        self._lock = threading.Lock()
        self._job = 0
        self._active_job = 0
        self._loading = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _ensure_process(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._discard_process()
        parent_end, child_end = _SPAWN.Pipe(duplex=True)
        process = _SPAWN.Process(
            target=_host_main,
            args=(child_end, self._stop_job, self.stream_interval_s),
            name="bizra-inference-host",
            daemon=True,
        )
        process.start()
        child_end.close()
        self._process, self._conn = process, parent_end
        return parent_end

    def generate(self, request: GenerateRequest) -> Iterator[HostEvent]:
        """Run one request, yielding host events; always ends with GenerationDone or HostFailure."""
        with self._lock:
            self._job += 1
            job = self._job
            self._active_job = job
        conn = self._ensure_process()
        request = replace(request, job_id=job)
        try:
            conn.send(request)
        except OSError as error:
            self._discard_process()
            yield HostFailure(
                job, FailureKind.CRASHED, f"could not reach the inference host: {error}"
            )
            return
        try:
            yield from self._events(conn, job)
        finally:
            self._active_job = 0
            self._loading = False

    def _events(self, conn: Connection, job: int) -> Iterator[HostEvent]:
        template_deadline: float | None = None
        while True:
            event, final = self._receive(conn, job, template_deadline)
            if final:
                yield event
                return
            if getattr(event, "job_id", job) != job:
                continue  # a late event of a request that was abandoned
            if isinstance(event, ModelLoading):
                self._loading = True
            elif isinstance(event, ModelLoaded):
                self._loading = False
                template_deadline = time.monotonic() + TEMPLATE_LIMIT_S
            elif isinstance(event, PromptReady):
                template_deadline = None
                continue  # only the watchdog cares
            yield event
            if isinstance(event, GenerationDone | HostFailure):
                return

    def _receive(self, conn: Connection, job: int, deadline: float | None) -> tuple[Any, bool]:
        """The host's next event, or (True) the failure that ends the job: the host died, or
        the chat template is still rendering at `deadline` (a hostile or broken model)."""
        process = self._process
        assert process is not None
        timeout = None if deadline is None else deadline - time.monotonic()
        ready = multiprocessing.connection.wait([conn, process.sentinel], timeout)
        if not ready:
            process.kill()
            self._discard_process()
            return HostFailure(
                job,
                FailureKind.BAD_MODEL,
                f"the model's chat template did not finish within {TEMPLATE_LIMIT_S:.0f} s "
                "and was stopped; the model file may be hostile or broken",
            ), True
        if conn in ready:
            try:
                return conn.recv(), False
            except (EOFError, OSError):
                pass
        return self._death(job), True

    def _death(self, job: int) -> HostFailure:
        process = self._process
        assert process is not None
        process.join(timeout=_SHUTDOWN_GRACE_S)
        cancelled = self._stop_job.value == job
        exit_text = describe_exit(process.exitcode)
        self._discard_process()
        if cancelled:
            return HostFailure(job, FailureKind.CANCELLED, "cancelled")
        return HostFailure(
            job,
            FailureKind.CRASHED,
            f"the inference process {exit_text}; the next request starts a new one",
        )

    def stop(self) -> None:
        """Stop the running request: within one token while generating; a load is cancelled
        by ending the host process (llama.cpp cannot interrupt a load)."""
        job = self._active_job
        if not job:
            return
        self._stop_job.value = job
        if self._loading and self._process is not None:
            self._process.kill()

    def _discard_process(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=_SHUTDOWN_GRACE_S)
            self._process.close()
        self._process = self._conn = None

    def close(self) -> None:
        process, conn = self._process, self._conn
        if process is not None and conn is not None and process.is_alive():
            try:
                conn.send(Shutdown())
                process.join(timeout=_SHUTDOWN_GRACE_S)
            except OSError:
                pass
        self._discard_process()

    def __enter__(self) -> InferenceHost:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
