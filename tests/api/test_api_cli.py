"""`bizra serve`: the API headless, in its own process, stopped by a signal."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
from contextlib import closing

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SERVE = [sys.executable, "-m", "bizra_desktop", "serve"]


def test_serve_answers_until_ctrl_c_and_exits_cleanly() -> None:
    with subprocess.Popen(
        [*SERVE, "--port", "0", "--api-key", "k3y"], stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        banner = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner)
        assert match, banner
        with closing(http.client.HTTPConnection("127.0.0.1", int(match[1]), timeout=30)) as conn:
            conn.request("GET", "/v1/models", headers={"Authorization": "Bearer k3y"})
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["data"][0]["id"] == "auto"

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        log = process.stderr.read()
    assert "bizra serve: GET /v1/models 200" in log
    assert "Traceback" not in log


def test_a_taken_port_is_a_one_line_error() -> None:
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*SERVE, "--port", str(port)], check=False, capture_output=True, text=True, timeout=60
        )

    assert result.returncode == 1
    assert result.stderr.startswith(f"bizra: error: cannot listen on 127.0.0.1:{port}: ")
    assert result.stderr.count("\n") == 1


def test_a_key_a_header_cannot_carry_is_bad_input() -> None:
    result = subprocess.run(
        [*SERVE, "--api-key", "two words"], check=False, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2 and "printable ASCII" in result.stderr


def test_a_request_http_cannot_parse_is_refused_and_logged_in_one_line() -> None:
    with subprocess.Popen([*SERVE, "--port", "0"], stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", process.stderr.readline())
        assert match
        with closing(socket.create_connection(("127.0.0.1", int(match[1])), timeout=30)) as sock:
            sock.sendall(b"GARBAGE\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        log = process.stderr.read()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and json.loads(body)["error"]["message"]
    assert "bizra serve: Invalid HTTP request received." in log.splitlines()
    assert "Traceback" not in log
