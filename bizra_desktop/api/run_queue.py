"""Requests run one at a time on one worker thread; a few may wait; the rest are refused at once.

A pipeline runs one request at a time, so waiting is the only alternative to refusing, and an
unbounded wait is a hang. A request's turn ends when its worker thread is done with the
pipeline, not when its handler stops listening: a client that disconnects does not free the
pipeline before its stopped generation has really ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from bizra_desktop.api.http import ClientGone
from bizra_desktop.api.job import PipelineJob


class QueueFull(Exception):
    """Every waiting place is taken."""


class RunQueue:
    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self.admitted = 0  # running and waiting; only touched on the event loop
        self._turn = asyncio.Lock()
        self._current: asyncio.Future[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bizra-api")

    async def submit(self, job: PipelineJob, client_closed: Callable[[], Awaitable[bool]]) -> None:
        """Wait for the job's turn and start it; QueueFull at once when no place is free.

        ClientGone when the client left while the job waited: the handler's watcher cancels
        such a job, but the turn may come before the watcher has run.
        """
        if self.admitted > self.max_waiting:
            raise QueueFull
        self.admitted += 1
        try:
            await self._turn.acquire()
        except BaseException:  # cancelled while waiting: the place is free again
            self.admitted -= 1
            raise
        try:
            if await client_closed():
                raise ClientGone("the client left while its request waited")
        except BaseException:  # gone, or cancelled during the check: the turn passes on
            self.admitted -= 1
            self._turn.release()
            raise
        loop = asyncio.get_running_loop()
        self._current = loop.run_in_executor(self._executor, job.run)
        self._current.add_done_callback(self._finished)

    def _finished(self, _: asyncio.Future[None]) -> None:
        self.admitted -= 1
        self._current = None
        self._turn.release()

    async def wait_idle(self) -> None:
        """Until the running job's thread is done (a cancelled job stops at its next token)."""
        while self._current is not None:
            await asyncio.wait({self._current})

    def close(self) -> None:
        """After wait_idle: end the worker thread (idle by then, so this does not block)."""
        self._executor.shutdown()
