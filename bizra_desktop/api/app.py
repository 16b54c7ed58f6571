"""The local API as an ASGI application: each request checked, routed and answered.

Before anything is routed, a request's framing is checked (HTTP/1.x, a Content-Length body
within the limit, not too many headers), its body must arrive within `body_timeout_s`, and
access.py decides whether it may be served. While it is answered, its connection is watched:
a client that goes away stops its generation at once, waiting in the queue or not, streaming
or not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from bizra_desktop.api.access import AccessPolicy
from bizra_desktop.api.catalog import ModelCatalog
from bizra_desktop.api.completions import ChatCompletions
from bizra_desktop.api.errors import SERVER_ERROR, ApiError, unknown_model
from bizra_desktop.api.http import JsonBody, Limits, Reply, error_response
from bizra_desktop.api.run_queue import RunQueue
from bizra_desktop.core.pipeline import Pipeline, RunOptions

log = logging.getLogger(__name__)

_MODELS = "/v1/models"
_CHAT = "/v1/chat/completions"
_VERSIONS = ("1.0", "1.1")  # h11 parses any HTTP/x.y request line

Handler = Callable[[Request, Reply], Awaitable[None]]


class ApiApp:
    def __init__(
        self,
        pipeline: Pipeline,
        *,
        access: AccessPolicy,
        limits: Limits,
        queue: RunQueue,
        defaults: Callable[[], RunOptions],
    ) -> None:
        self.access = access
        self.limits = limits
        self.catalog = ModelCatalog(pipeline.store)
        self.completions = ChatCompletions(pipeline, queue, self.catalog, defaults)
        self.closing = False
        self._answers: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        """Stop every answer; its client is told that the server is shutting down."""
        self.closing = True
        for answer in self._answers:
            answer.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # the server runs without lifespan events and without websockets
        request = Request(scope, receive)
        reply = Reply(request, send, self.limits.write_timeout_s)
        try:
            await self._exchange(request, reply)
        finally:
            log.info("%s %s %s", request.method, scope["path"], reply.status or "(no answer)")

    async def _exchange(self, request: Request, reply: Reply) -> None:
        try:
            if self.closing:
                raise _shutting_down()
            self._check_framing(request)
            await self._receive_body(request)
        except ClientDisconnect:
            return
        except ApiError as error:
            # The body was not read (or not all of it): the connection cannot go on.
            await reply.fail(error)
            return
        answer = asyncio.create_task(self._answer(request, reply))
        gone = asyncio.create_task(_client_gone(request.receive))
        self._answers.add(answer)
        try:
            await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not answer.done() and not reply.complete:
                answer.cancel()  # the client is gone: stop its generation now
            await asyncio.wait({answer})
        finally:
            self._answers.discard(answer)
            gone.cancel()
            answer.cancel()
            await asyncio.gather(answer, gone, return_exceptions=True)
        if answer.cancelled():
            if self.closing:
                await reply.fail(_shutting_down())
            return
        crash = answer.exception()
        if crash is not None and not isinstance(crash, ConnectionError):
            log.error(
                "the local API failed on %s %s",
                request.method,
                request.scope["path"],
                exc_info=crash,
            )
            failure = "internal error; the app's log has the details"
            await reply.fail(ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, failure, kind=SERVER_ERROR))

    def _check_framing(self, request: Request) -> None:
        """What h11 lets through but this server does not take."""
        if request.scope["http_version"] not in _VERSIONS:
            raise ApiError(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.1 is served")
        if _head_bytes(request.scope) > self.limits.head_bytes:
            # h11 bounds a head that arrives in pieces; one that arrives whole is counted here.
            raise ApiError(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"the request line and headers exceed {self.limits.head_bytes} bytes",
            )
        if len(request.scope["headers"]) > self.limits.max_headers:
            raise ApiError(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"more than {self.limits.max_headers} headers",
            )
        if "transfer-encoding" in request.headers:
            raise ApiError(
                HTTPStatus.NOT_IMPLEMENTED,
                "chunked request bodies are not accepted; send Content-Length",
            )
        # h11 has checked that it is one whole number.
        if int(request.headers.get("content-length", "0")) > self.limits.body_bytes:
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body exceeds {self.limits.body_bytes} bytes",
            )

    async def _receive_body(self, request: Request) -> None:
        """Read the whole body (Starlette keeps it for `request.body()`)."""
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                await request.body()
        except TimeoutError:
            raise ApiError(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the body did not arrive within {self.limits.body_timeout_s} s",
            ) from None

    async def _answer(self, request: Request, reply: Reply) -> None:
        try:
            self.access.check(request)
            await self._handler(request)(request, reply)
        except ApiError as error:
            if reply.status is not None:
                raise  # mid-answer: a failure to report as one
            await reply.send(error_response(error))

    def _handler(self, request: Request) -> Handler:
        path, method = request.scope["path"], request.method
        if path == _MODELS:
            methods: dict[str, Handler] = {"GET": self._models}
        elif path.startswith(f"{_MODELS}/"):
            methods = {"GET": self._model}
        elif path == _CHAT:
            methods = {"POST": self.completions.handle}
        else:
            raise ApiError(
                HTTPStatus.NOT_FOUND,
                f"Unknown request URL: {method} {path}.",
                code="unknown_url",
            )
        if method not in methods:
            raise ApiError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{path} does not take {method}",
                code="method_not_supported",
                headers={"Allow": ", ".join(methods)},
            )
        return methods[method]

    async def _models(self, request: Request, reply: Reply) -> None:
        # Off the loop, which may be the window's: listing reads the model files' headers.
        entries = await asyncio.to_thread(self.catalog.entries)
        await reply.send(JsonBody({"object": "list", "data": [entry.wire() for entry in entries]}))

    async def _model(self, request: Request, reply: Reply) -> None:
        # uvicorn has decoded the path: a name may hold spaces.
        name = request.scope["path"].removeprefix(f"{_MODELS}/")
        entry = await asyncio.to_thread(self.catalog.find, name)
        if entry is None:
            raise unknown_model(name)
        await reply.send(JsonBody(entry.wire()))


def _head_bytes(scope: Scope) -> int:
    """The size of the request line and headers as they were sent."""
    line = len(scope["method"]) + len(scope["raw_path"]) + len(scope["query_string"]) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def _shutting_down() -> ApiError:
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "the server is shutting down",
        kind=SERVER_ERROR,
        code="server_shutting_down",
    )


async def _client_gone(receive: Receive) -> None:
    """Returns once the client has closed the connection (or the answer is complete, when
    uvicorn also reports a disconnect). Only after the body is read: it takes what arrives."""
    while (await receive())["type"] != "http.disconnect":
        pass
