"""The local API against hostile and broken clients, on a real server over real sockets: slow
clients are cut off without holding up others, and every malformed request gets a clean refusal
in OpenAI's shape (or a closed connection), never a crash or a hang. No model runs here."""

from __future__ import annotations

import json
import select
import socket
import time
from contextlib import closing

import pytest

from tests.api.api_support import ServerThread

HEAD = b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
TRICKLE_S = 0.02  # between two bytes of a slow client


def connect(api: ServerThread) -> socket.socket:
    return socket.create_connection((api.host, api.port), timeout=30)


def read_to_close(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def status_and_error(answer: bytes) -> tuple[int, dict[str, object]]:
    """The status of a one-response answer read to its close, and its OpenAI error."""
    head, _, body = answer.partition(b"\r\n\r\n")
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return int(head.split(b" ")[1]), error


def trickle(sock: socket.socket, data: bytes) -> bool:
    """Send `data` a byte at a time; True when the server answered or closed the connection
    before it was all sent (what it said is left to read)."""
    for byte in data:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            return True
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return True
        time.sleep(TRICKLE_S)
    return False


def served(api: ServerThread) -> bool:
    """Whether a well-behaved client gets its answer."""
    status, _, body = api.request("GET", "/v1/models")
    return status == 200 and body["object"] == "list"


def test_a_client_trickling_its_headers_is_cut_off_and_others_are_served(
    impatient_api: ServerThread,
) -> None:
    # 400 bytes at 20 ms each would take 8 s; the head's deadline is 0.5 s.
    with closing(connect(impatient_api)) as slow:
        slow.sendall(HEAD + b"X-Slow: ")
        assert served(impatient_api)  # while the slow head is pending
        assert trickle(slow, b"a" * 400), "the slow client was never cut off"
        assert read_to_close(slow) == b""  # nothing to answer: no request arrived
    assert served(impatient_api)


def test_many_slow_clients_do_not_hold_up_a_quick_one(impatient_api: ServerThread) -> None:
    slow = [connect(impatient_api) for _ in range(20)]
    try:
        for sock in slow:
            sock.sendall(b"GET /v1/mod")
        assert served(impatient_api)
        for sock in slow:  # each is closed by the server, with nothing said
            assert read_to_close(sock) == b""
    finally:
        for sock in slow:
            sock.close()


def test_a_body_that_never_finishes_is_a_408_and_others_are_served(
    impatient_api: ServerThread,
) -> None:
    with closing(connect(impatient_api)) as slow:
        slow.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        assert served(impatient_api)
        # 2 s of a byte now and then: the deadline is for the whole body.
        assert trickle(slow, b" " * 100), "the slow body was never cut off"
        status, _ = status_and_error(read_to_close(slow))
    assert status == 408
    assert served(impatient_api)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET\r\n\r\n", 400),  # no target, no version
        (b"G@T /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),  # not a method token
        (b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n", 400),
        (b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n", 400),
        (
            HEAD + b"Content-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
            400,
        ),
        (HEAD + b"X-Nul: a\x00b\r\n\r\n", 400),
        # Obsolete line folding, a smuggling vector: h11 joins the line to the Host header
        # above it, which then names no host of this machine.
        (HEAD + b" Folded: header\r\nConnection: close\r\n\r\n", 403),
        (b"GET /v1/models HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
        (HEAD + b"".join(b"X-%d: y\r\n" % n for n in range(150)) + b"\r\n", 431),
    ],
)
def test_a_malformed_request_is_refused_and_the_connection_closed(
    api: ServerThread, data: bytes, status: int
) -> None:
    with closing(connect(api)) as sock:
        sock.sendall(data)
        answer_status, _ = status_and_error(read_to_close(sock))

    assert answer_status == status
    assert served(api)


def test_a_chunked_body_of_garbage_is_refused(api: ServerThread) -> None:
    with closing(connect(api)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\n{}\r\n0\r\n\r\n"
        )
        status, _ = status_and_error(read_to_close(sock))

    # h11 rejects the chunk (400) when it reads it with the head; read later, the server has
    # already refused chunked bodies as such (501).
    assert status in (400, 501)
    assert served(api)


def test_a_body_that_is_not_utf8_is_a_400(api: ServerThread) -> None:
    body = b'{"model": "auto", "messages": [{"role": "user", "content": "\xff\xfe"}]}'
    status, _, answer = api.request(
        "POST", "/v1/chat/completions", body, {"Content-Type": "application/json"}
    )

    assert status == 400 and answer["error"]["type"] == "invalid_request_error"
    assert served(api)


def test_an_oversized_head_sent_in_pieces_is_a_431(api: ServerThread) -> None:
    with closing(connect(api)) as sock:
        sock.sendall(HEAD)
        try:
            for _ in range(40):  # 40 KB of one header, more than the 16 KB a head may take
                sock.sendall(b"X-Big: " + b"a" * 1000 + b"\r\n")
                time.sleep(TRICKLE_S)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it was all sent
        status, error = status_and_error(read_to_close(sock))

    assert status == 431 and "16384 bytes" in str(error["message"])
    assert served(api)


def test_an_http_1_0_client_gets_its_answer_and_a_closed_connection(api: ServerThread) -> None:
    with closing(connect(api)) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.0\r\n\r\n")
        answer = read_to_close(sock)
    head, _, body = answer.partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nconnection: close" in head.lower()
    assert json.loads(body)["object"] == "list"
