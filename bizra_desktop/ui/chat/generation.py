"""GenerationWorker: iterates the core pipeline on its own thread and reports through signals."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal, Slot

from bizra_desktop.core.exchanges import Stored
from bizra_desktop.core.pipeline import (
    Failed,
    Finished,
    Loaded,
    Loading,
    Pipeline,
    Routed,
    Run,
    RunOptions,
    Token,
)
from bizra_desktop.ui.background import QUEUED, start_thread, stop_thread

_STOP_WAIT_MS = 10_000


class GenerationWorker(QObject):
    """Owns the Pipeline; lives on a QThread. Requests arrive as queued signals, results leave
    as signals (queued to the GUI thread, which never blocks on the model)."""

    requested = Signal(int)  # the id of a run request() made
    stored = Signal(int, object)  # Stored: the prompt is saved, and where the answer goes
    routed = Signal(int, object)  # Routed
    loading = Signal(int, str)  # model name
    loaded = Signal(int, object)  # Loaded
    token = Signal(int, str, float)  # text, live tokens/s
    finished = Signal(int, object)  # Finished
    failed = Signal(int, str, str)  # kind, message

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        self.pipeline = pipeline
        # The window's run, from the moment it is requested: Stop must reach it (and nothing
        # else, e.g. a local API answer it waits behind) even before this thread picks it up.
        self._runs: dict[int, Run] = {}
        self._runs_lock = threading.Lock()
        self.requested.connect(self._run, QUEUED)

    def request(self, request_id: int, prompt: str, options: RunOptions) -> None:
        """From the GUI thread: queue a prompt; `stop()` reaches it from now on."""
        with self._runs_lock:
            self._runs[request_id] = self.pipeline.start(prompt, options)
        self.requested.emit(request_id)

    @Slot(int)
    def _run(self, request_id: int) -> None:
        with self._runs_lock:
            run = self._runs[request_id]
        try:
            for event in run.events():
                if isinstance(event, Token):
                    self.token.emit(request_id, event.text, event.tokens_per_s)
                elif isinstance(event, Stored):
                    self.stored.emit(request_id, event)
                elif isinstance(event, Routed):
                    self.routed.emit(request_id, event)
                elif isinstance(event, Loading):
                    self.loading.emit(request_id, event.model_name)
                elif isinstance(event, Loaded):
                    self.loaded.emit(request_id, event)
                elif isinstance(event, Finished):
                    self.finished.emit(request_id, event)
                elif isinstance(event, Failed):
                    self.failed.emit(request_id, str(event.kind), event.message)
        except Exception as error:
            self.failed.emit(request_id, "internal", f"{type(error).__name__}: {error}")
        finally:
            with self._runs_lock:
                self._runs.pop(request_id, None)

    def stop(self) -> None:
        """Thread-safe: stops the window's generation (or cancels its load, or its wait for
        its turn) at once; another front end's run on the same pipeline goes on."""
        with self._runs_lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop()


class WorkerThread:
    """The worker and its thread, started together and shut down stop → quit → wait."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.worker = GenerationWorker(pipeline)
        self.thread = start_thread(self.worker, "bizra-generation")

    def shutdown(self) -> None:
        self.worker.stop()
        stop_thread(self.thread, _STOP_WAIT_MS)
        self.worker.pipeline.close()
