"""One pipeline Run on a worker thread, its events handed to the event loop as they come.

Run.events() blocks (it waits on the inference host), so it must not run on the event loop.
The worker thread posts each event with call_soon_threadsafe; the handler awaits them.

Cancelling is cooperative, as everywhere in the app: `Run.stop()`, which reaches only this
run. A stopped answer still ends with Finished and gets its receipt, exactly as when the user
presses Stop in the window. Until its model is loaded, a run is not stopped but marked: a stop
during a load kills the inference host, and the next request most likely wants the same model.
The answer then stops at its first token.
"""

from __future__ import annotations

import asyncio
import threading

from bizra_desktop.core.pipeline import Loaded, Pipeline, PipelineEvent, RunOptions


class _End:
    """The run is over (Run.events() raises for none of its failures: they are events)."""


_END = _End()


class PipelineJob:
    def __init__(
        self,
        pipeline: Pipeline,
        prompt: str,
        options: RunOptions,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._run = pipeline.start(prompt, options)
        self._loop = loop
        self._queue: asyncio.Queue[PipelineEvent | _End] = asyncio.Queue()
        self._cancelled = threading.Event()
        self._loaded = False  # its model is loaded: a stop no longer cancels the load

    def run(self) -> None:
        """On the worker thread: iterate the run to its end, posting every event."""
        try:
            for event in self._run.events():
                self._loaded = self._loaded or isinstance(event, Loaded)
                if self._cancelled.is_set() and self._loaded:
                    self._run.stop()  # a stop that waited for the model to load
                self._post(event)
        finally:  # the handler waits for the end, whatever happened
            self._post(_END)

    def cancel(self) -> None:
        """From any thread: nobody wants the answer any more; stop generating it."""
        self._cancelled.set()
        if self._loaded:  # else the worker thread stops it once the model is loaded
            self._run.stop()

    async def next_event(self) -> PipelineEvent | None:
        """The run's next event; None once it is over."""
        item = await self._queue.get()
        if not isinstance(item, _End):
            return item
        self._queue.put_nowait(item)  # over stays over
        return None

    def _post(self, item: PipelineEvent | _End) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.cancel()
