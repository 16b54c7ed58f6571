"""What the window needs of a local API server, so that it can run one without importing the
API front end (front ends never import each other; the launcher, bizra_desktop/gui.py, hands the
API's `start_api_server` to the window)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bizra_desktop.core.pipeline import Pipeline, RunOptions


class LocalServer(Protocol):
    def close(self) -> None:
        """Stop listening, stop a running answer, end the connections."""

    async def wait_closed(self) -> None:
        """Until the pipeline is free again."""


class StartLocalServer(Protocol):
    async def __call__(
        self,
        pipeline: Pipeline,
        host: str,
        port: int,
        api_key: str,
        *,
        defaults: Callable[[], RunOptions],
    ) -> LocalServer:
        """A server listening on host:port on the running loop; OSError when the port is taken.
        `defaults` gives each request what it does not set."""
