"""ApiServer: the local OpenAI-compatible API, on whatever asyncio loop is running.

Headless it runs on `asyncio.run` (`bizra serve`); with the window open, on the app's qasync
loop. Each connection is one task serving requests one after another (keep-alive); while a
request is answered, a second task watches the connection, so a client that goes away stops
its generation at once, waiting in the queue or not, streaming or not.
It binds to 127.0.0.1 unless told otherwise; access.py says who else it refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from urllib.parse import unquote

from bizra_desktop.core.api.access import AccessPolicy, is_loopback
from bizra_desktop.core.api.catalog import ModelCatalog
from bizra_desktop.core.api.completions import ChatCompletions
from bizra_desktop.core.api.errors import SERVER_ERROR, ApiError, unknown_model
from bizra_desktop.core.api.http import HttpError, Limits, Request, Responder, read_request
from bizra_desktop.core.api.run_queue import RunQueue
from bizra_desktop.core.pipeline import Pipeline, RunOptions

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_WAITING = 4
_MODELS = "/v1/models"
_CHAT = "/v1/chat/completions"
_WATCH_INTERVAL_S = 0.1  # how soon a client that went away is noticed

Handler = Callable[[Request, Responder], Awaitable[None]]


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
        self.catalog = ModelCatalog(pipeline.store)
        self.completions = ChatCompletions(pipeline, self.queue, self.catalog, defaults)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[object]] = set()

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        """Listen on host:port (port 0: any free port; see `address`). OSError if taken."""
        self._server = await asyncio.start_server(
            self._connection, host, port, limit=self.limits.head_bytes
        )
        self.access.loopback_only = is_loopback(host)

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as base_url: http://127.0.0.1:8765/v1"""
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"

    def close(self) -> None:
        """Stop listening and drop every connection. A running generation is stopped; its
        stopped answer still gets a receipt."""
        if self._server is not None:
            self._server.close()
        for task in self._connections:
            task.cancel()

    async def wait_closed(self) -> None:
        """After close(): until every connection is closed and the pipeline is free."""
        if self._connections:
            await asyncio.wait(self._connections)
        await self.queue.wait_idle()
        self.queue.close()
        if self._server is not None:
            await self._server.wait_closed()

    # --- connections ------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while (request := await self._next_request(reader, writer)) is not None:
                if not await self._exchange(request, reader, writer):
                    break
        except ConnectionError:
            pass  # the client went away; nothing is left to answer
        except asyncio.CancelledError:
            # close() ends connections so. Not re-raised: this is the top of the task, and
            # asyncio (3.11) logs a connection task that ends cancelled as an error.
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _next_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Request | None:
        try:
            return await read_request(reader, writer, self.limits)
        except HttpError as error:
            # The request could not be read to its end, so the connection cannot go on.
            responder = Responder(writer, "HTTP/1.1", False, self.limits)
            await responder.send_json(error.status, ApiError(error.status, str(error)).body())
            return None

    async def _exchange(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; whether the connection may carry another."""
        responder = Responder(writer, request.version, request.keep_alive, self.limits)
        answer = asyncio.create_task(self._answer(request, responder))
        watch = asyncio.create_task(_closed_by_client(reader))
        try:
            await asyncio.wait({answer, watch}, return_when=asyncio.FIRST_COMPLETED)
            if not answer.done():
                answer.cancel()  # the client is gone: stop its generation now
            await asyncio.wait({answer})
        finally:
            watch.cancel()
            answer.cancel()
            await asyncio.gather(answer, watch, return_exceptions=True)
        return responder.keep_alive and not answer.cancelled() and answer.exception() is None

    # --- requests ---------------------------------------------------------------------------

    async def _answer(self, request: Request, responder: Responder) -> None:
        try:
            self.access.check(request)
            await self._handler(request)(request, responder)
        except ApiError as error:
            await responder.send_json(error.status, error.body(), error.headers)
        except ConnectionError:
            raise
        except Exception:
            log.exception("the local API failed on %s %s", request.method, request.path)
            if responder.status is not None:
                raise  # mid-stream: a cut connection is the only way left to say it failed
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            failure = ApiError(
                status, "internal error; the app's log has the details", kind=SERVER_ERROR
            )
            await responder.send_json(status, failure.body())
        finally:
            # Here, as the answer goes out: nothing after it is sure to run (the client, or the
            # server closing, may end the connection at once).
            log.info("%s %s %s", request.method, request.path, responder.status or "(no answer)")

    def _handler(self, request: Request) -> Handler:
        path = request.path
        if path == _MODELS:
            methods: dict[str, Handler] = {"GET": self._models}
        elif path.startswith(f"{_MODELS}/"):
            methods = {"GET": self._model}
        elif path == _CHAT:
            methods = {"POST": self.completions.handle}
        else:
            raise ApiError(
                HTTPStatus.NOT_FOUND,
                f"Unknown request URL: {request.method} {path}.",
                code="unknown_url",
            )
        if request.method not in methods:
            raise ApiError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{path} does not take {request.method}",
                code="method_not_supported",
                headers={"Allow": ", ".join(methods)},
            )
        return methods[request.method]

    async def _models(self, request: Request, responder: Responder) -> None:
        # Off the loop, which may be the window's: listing reads the model files' headers.
        entries = await asyncio.to_thread(self.catalog.entries)
        body = {"object": "list", "data": [entry.wire() for entry in entries]}
        await responder.send_json(HTTPStatus.OK, body)

    async def _model(self, request: Request, responder: Responder) -> None:
        name = unquote(request.path.removeprefix(f"{_MODELS}/"))  # names may hold spaces
        entry = await asyncio.to_thread(self.catalog.find, name)
        if entry is None:
            raise unknown_model(name)
        await responder.send_json(HTTPStatus.OK, entry.wire())


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


async def _closed_by_client(reader: asyncio.StreamReader) -> None:
    """Returns once the client has closed the connection.

    Polled: waiting on a read would consume the next request's first bytes, and asyncio has
    no way to wait for end-of-stream alone.
    """
    while not reader.at_eof() and reader.exception() is None:
        await asyncio.sleep(_WATCH_INTERVAL_S)
