"""ApiServer: the local OpenAI-compatible API, served by uvicorn on whatever asyncio loop runs.

Headless it runs on `asyncio.run` (`bizra serve`); with the window open, on the app's qasync
loop. uvicorn parses HTTP (h11, see http.py); app.py answers. The server binds its own socket,
so a taken port is an OSError for the caller (uvicorn would exit the process), and leaves the
process's signals alone (the window and `bizra serve` have their own handlers). It binds to
127.0.0.1 unless told otherwise; access.py says who else it refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator

import uvicorn

from bizra_desktop.api.access import AccessPolicy, is_loopback
from bizra_desktop.api.app import ApiApp
from bizra_desktop.api.http import SERVER_NAME, ApiProtocol, Limits
from bizra_desktop.api.run_queue import RunQueue
from bizra_desktop.core.pipeline import Pipeline, RunOptions

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_WAITING = 4
# After close(), how long connections get to take their last answer before uvicorn cancels
# what still runs; close() has stopped every answer, so this is only a backstop.
_GRACE_S = 5


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would take SIGINT and SIGTERM for itself; the process they stop is not its.
        yield


class ApiServer:
    """Create, then `await start(host, port)`; stop with `close()` and `await wait_closed()`."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        api_key: str = "",
        max_waiting: int = DEFAULT_MAX_WAITING,
        defaults: Callable[[], RunOptions] = RunOptions,
        limits: Limits | None = None,
    ) -> None:
        """`defaults`: called per request for what the request does not set (sampling, context
        size, threads, GPU layers, the system prompt when it sends none)."""
        self.access = AccessPolicy(api_key)
        self.limits = limits or Limits()
        self.queue = RunQueue(max_waiting)
        self.app = ApiApp(
            pipeline, access=self.access, limits=self.limits, queue=self.queue, defaults=defaults
        )
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self._address: tuple[str, int] | None = None

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        """Listen on host:port (port 0: any free port; see `address`). OSError if taken."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
        self._address = listener.getsockname()[:2]
        self.access.loopback_only = is_loopback(host)
        config = uvicorn.Config(
            self.app,
            http=ApiProtocol,
            ws="none",
            lifespan="off",
            log_config=None,  # the app's logging stays as the app set it up
            access_log=False,  # app.py logs each request
            proxy_headers=False,  # nothing stands in front of this server
            server_header=False,
            headers=[("Server", SERVER_NAME)],
            # The head's deadline (ApiProtocol) and the idle keep-alive time in one. Typed int,
            # used as a float (loop.call_later): tests wait fractions of a second.
            timeout_keep_alive=self.limits.head_timeout_s,  # type: ignore[arg-type]
            h11_max_incomplete_event_size=self.limits.head_bytes,
            timeout_graceful_shutdown=_GRACE_S,
        )
        self._server = _EmbeddedServer(config)
        self._serving = asyncio.create_task(self._server.serve(sockets=[listener]))

    @property
    def address(self) -> tuple[str, int]:
        assert self._address is not None, "start() first"
        return self._address

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as base_url: http://127.0.0.1:8765/v1"""
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"

    def close(self) -> None:
        """Stop listening and end every connection. A running generation is stopped (its
        stopped answer still gets a receipt); its client is told the server is shutting down."""
        self.app.close()
        if self._server is not None:
            self._server.should_exit = True

    async def wait_closed(self) -> None:
        """After close(): until every connection is closed and the pipeline is free."""
        if self._serving is not None:
            await self._serving
        await self.queue.wait_idle()
        self.queue.close()


async def start_api_server(
    pipeline: Pipeline,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    api_key: str = "",
    *,
    max_waiting: int = DEFAULT_MAX_WAITING,
    defaults: Callable[[], RunOptions] = RunOptions,
) -> ApiServer:
    """A listening ApiServer on the running loop (see ApiServer for the arguments)."""
    server = ApiServer(pipeline, api_key=api_key, max_waiting=max_waiting, defaults=defaults)
    await server.start(host, port)
    return server
