"""The HTTP layer under the local API: its limits, and uvicorn's h11 protocol with two changes.

h11 parses every request (uvicorn's `h11` protocol, pure Python: no uvloop or httptools to
bundle). uvicorn has no deadline for a request head, so a client that trickles its headers byte
by byte would hold a connection for as long as it likes; this protocol closes a connection whose
next request head has not arrived within `head_timeout_s` (which is also how long an idle
keep-alive connection is kept). And where uvicorn answers every request h11 cannot parse with a
plain-text 400, this protocol answers with the status h11 suggests (431 for an oversized head,
501 for an unknown transfer coding) and an error body in OpenAI's shape, as every other refusal.
The body's deadline, its size and the rest are checked by the application (app.py).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import h11
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from bizra_desktop import __version__
from bizra_desktop.api.errors import ApiError

SERVER_NAME = f"bizra-desktop/{__version__}"


@dataclass(frozen=True)
class Limits:
    head_bytes: int = 16 * 1024  # request line and headers together
    max_headers: int = 100
    body_bytes: int = 8 * 1024 * 1024
    head_timeout_s: float = 15.0  # also how long an idle keep-alive connection is kept
    body_timeout_s: float = 30.0
    write_timeout_s: float = 30.0  # a client that stops reading is treated as gone


def encode_json(value: Any) -> bytes:
    # ASCII-only JSON: any text, even a lone surrogate from a request, encodes.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


class JsonBody(JSONResponse):
    """A JSON response, encoded as every body of this API is (encode_json)."""

    def render(self, content: Any) -> bytes:
        return encode_json(content)


class _Connection(h11.Connection):
    """h11's connection, keeping the protocol error it raised for the answer to name."""

    error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as error:
            self.error = error
            raise


class ApiProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and errors in OpenAI's
    shape. The deadline is the config's `timeout_keep_alive`; the head's size limit is its
    `h11_max_incomplete_event_size`."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert config.h11_max_incomplete_event_size is not None, "the server sets the head limit"
        self._parser = self.conn = _Connection(h11.SERVER, config.h11_max_incomplete_event_size)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        # uvicorn's own keep-alive timer is cancelled by the first byte that arrives; this one
        # runs until the whole head is in, however slowly the bytes come.
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(self.timeout_keep_alive, self._head_overdue)

    def _head_overdue(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE:  # no request head yet: nothing to answer
            self.timeout_keep_alive_handler()  # closes the connection

    def send_400_response(self, msg: str) -> None:
        """What uvicorn calls when h11 cannot parse the request; answered, then closed."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:  # mid-answer: closing is the only way left to say it
                self.transport.close()
                return
            cycle.disconnected = True  # the application's answer, if it comes, goes nowhere
        error = self._parser.error
        status = HTTPStatus(error.error_status_hint if error else HTTPStatus.BAD_REQUEST)
        reason = (
            f"the request line and headers exceed {self.config.h11_max_incomplete_event_size} bytes"
            if status is HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            else f"malformed HTTP request: {str(error)[:200] if error else msg}"
        )
        body = encode_json(ApiError(status, reason).body())
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            for event in (
                h11.Response(status_code=status, headers=headers, reason=status.phrase),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:
            pass  # h11 allows no answer in this state: the close below is all the client gets
        self.transport.close()


class ClientGone(ConnectionError):
    """The client closed the connection or stopped reading."""


def sse_event(body: dict[str, Any]) -> bytes:
    """One server-sent event carrying a JSON body, as OpenAI streams chat completions."""
    return b"data: " + encode_json(body) + b"\n\n"


def error_response(error: ApiError, *, close: bool = False) -> JsonBody:
    """`close`: end the connection after it (a request whose body was not read, or a server
    shutting down)."""
    headers = {**error.headers, **({"Connection": "close"} if close else {})}
    return JsonBody(error.body(), error.status, headers)


class Reply:
    """The one response to one request: it sends through ASGI's `send` with a deadline for
    every write, says `Connection: keep-alive` where the connection may stay open, and keeps
    what went out (the status for the log; whether it is complete)."""

    def __init__(self, request: Request, send: Send, write_timeout_s: float) -> None:
        self.request = request
        self._send = send
        self._write_timeout_s = write_timeout_s
        self.status: int | None = None  # once sent, an error can no longer be a response
        self.complete = False

    async def send(self, response: Response) -> None:
        await response(self.request.scope, self.request.receive, self)

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"connection" for name, _ in headers):
                # h11 turns this into "close" where the connection cannot stay open.
                headers.append((b"connection", b"keep-alive"))
            message = {**message, "headers": headers}
        try:
            async with asyncio.timeout(self._write_timeout_s):
                await self._send(message)
        except TimeoutError:
            raise ClientGone("the client stopped reading") from None
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True

    async def fail(self, error: ApiError) -> None:
        """Say that the answer failed, however far it got."""
        try:
            if self.status is None:
                await self.send(error_response(error, close=True))
            elif not self.complete:
                # Mid-answer, and only event streams go out in pieces: an error event ends it,
                # which OpenAI clients raise.
                await self({"type": "http.response.body", "body": sse_event(error.body())})
        except ConnectionError:
            pass  # the client is gone too
