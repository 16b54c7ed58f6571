"""A small HTTP/1.1 server side: read one request with hard limits, write one response.

Only what the local API needs: requests with a Content-Length body (no chunked uploads),
responses with a Content-Length body or a chunked stream. Every read and write has a deadline,
so a slow or silent client costs a connection for seconds, never forever.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from bizra_desktop import __version__

SERVER_NAME = f"bizra-desktop/{__version__}"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token: methods, header names


@dataclass(frozen=True)
class Limits:
    head_bytes: int = 16 * 1024  # request line and headers together
    max_headers: int = 100
    body_bytes: int = 8 * 1024 * 1024
    head_timeout_s: float = 15.0  # also how long an idle keep-alive connection is kept
    body_timeout_s: float = 30.0
    write_timeout_s: float = 30.0  # a client that stops reading is treated as gone


class HttpError(Exception):
    """A request that cannot be read; answered with `status` and the connection closed."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClientGone(ConnectionError):
    """The client closed the connection or stopped reading."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: dict[str, str]  # names in lower case; repeated headers joined with ", "
    body: bytes
    # Whether the client has closed its side; checked when a waiting request's turn comes, as
    # the watcher that would cancel it only polls.
    client_closed: Callable[[], bool]

    @property
    def keep_alive(self) -> bool:
        # HTTP/1.0 keep-alive is a negotiation not worth having; 1.0 clients get one request.
        tokens = {token.strip().lower() for token in self.headers.get("connection", "").split(",")}
        return self.version == "HTTP/1.1" and "close" not in tokens


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits
) -> Request | None:
    """The next request on the connection; None when the client closed it or stayed silent.

    `reader` must have been created with a buffer limit of `limits.head_bytes` (the `limit`
    of asyncio.start_server), which is what bounds the head.
    """
    try:
        async with asyncio.timeout(limits.head_timeout_s):
            head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        return None  # closed or idle: nothing to answer
    except asyncio.LimitOverrunError:
        raise HttpError(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            f"the request line and headers exceed {limits.head_bytes} bytes",
        ) from None
    method, path, version, headers = _parse_head(head, limits)
    length = _content_length(headers, limits)
    if length and headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        async with asyncio.timeout(limits.body_timeout_s):
            body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise ClientGone("the client closed the connection mid-body") from None
    except TimeoutError:
        raise HttpError(
            HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive within {limits.body_timeout_s} s"
        ) from None
    return Request(method, path, version, headers, body, reader.at_eof)


def _parse_head(head: bytes, limits: Limits) -> tuple[str, str, str, dict[str, str]]:
    # Latin-1 maps every byte to a character, so no header can fail to decode.
    lines = head.decode("latin-1").split("\r\n")[:-2]
    if any(char in line for line in lines for char in "\r\n\x00"):
        raise HttpError(HTTPStatus.BAD_REQUEST, "bare CR, LF or NUL in the request head")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
        raise HttpError(HTTPStatus.BAD_REQUEST, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.1 is served")
    if len(lines) - 1 > limits.max_headers:
        raise HttpError(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"more than {limits.max_headers} headers"
        )
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        # A space before the colon or a folded line is how request smuggling starts (RFC 9112).
        if not colon or not _TOKEN.match(name):
            raise HttpError(HTTPStatus.BAD_REQUEST, f"malformed header line {line[:40]!r}")
        key, value = name.lower(), value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method, urlsplit(target).path, version, headers


def _content_length(headers: dict[str, str], limits: Limits) -> int:
    if "transfer-encoding" in headers:
        raise HttpError(
            HTTPStatus.NOT_IMPLEMENTED,
            "chunked request bodies are not accepted; send Content-Length",
        )
    text = headers.get("content-length", "0")
    if not text.isascii() or not text.isdigit():  # also refuses "5, 7" from repeated headers
        raise HttpError(HTTPStatus.BAD_REQUEST, "Content-Length must be one whole number")
    length = int(text)
    if length > limits.body_bytes:
        raise HttpError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body exceeds {limits.body_bytes} bytes"
        )
    return length


def encode_json(value: Any) -> bytes:
    # ASCII-only JSON: any text, even a lone surrogate from a request, encodes.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


class Responder:
    """Writes the one response to one request: a JSON body, or a chunked stream."""

    def __init__(
        self, writer: asyncio.StreamWriter, request_version: str, keep_alive: bool, limits: Limits
    ) -> None:
        self.writer = writer
        self.keep_alive = keep_alive
        self.status: HTTPStatus | None = None  # once sent, an error can no longer be a response
        self._chunked = request_version == "HTTP/1.1"  # 1.0 clients read to the close
        self._limits = limits

    async def send_json(
        self, status: HTTPStatus, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = encode_json(body)
        head = {
            "Content-Type": "application/json",
            "Content-Length": str(len(data)),
            **(headers or {}),
        }
        self.writer.write(self._head(status, head) + data)
        await self._drain()

    async def start_stream(self, content_type: str) -> None:
        if not self._chunked:
            self.keep_alive = False  # the end of the body is the end of the connection
        framing = {"Transfer-Encoding": "chunked"} if self._chunked else {}
        head = {"Content-Type": content_type, "Cache-Control": "no-cache", **framing}
        self.writer.write(self._head(HTTPStatus.OK, head))
        await self._drain()

    async def send_chunk(self, data: bytes) -> None:
        if self._chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.writer.write(data)
        await self._drain()

    async def end_stream(self) -> None:
        if self._chunked:
            self.writer.write(b"0\r\n\r\n")
            await self._drain()

    def _head(self, status: HTTPStatus, headers: dict[str, str]) -> bytes:
        self.status = status
        connection = "keep-alive" if self.keep_alive else "close"
        lines = [
            f"HTTP/1.1 {status.value} {status.phrase}",
            f"Server: {SERVER_NAME}",
            f"Connection: {connection}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(self._limits.write_timeout_s):
                await self.writer.drain()
        except TimeoutError:
            raise ClientGone("the client stopped reading") from None
