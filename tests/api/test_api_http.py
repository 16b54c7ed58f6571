"""The local API's HTTP side on a real server: limits, errors in OpenAI's shape, the API key,
keep-alive. No model runs here: every request is answered or refused before inference."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import closing

import openai
import pytest

from bizra_desktop.core.pipeline import Pipeline
from tests.api.api_support import JSON, ServerThread, chat_body


@pytest.fixture
def keyed_api(pipeline: Pipeline) -> Iterator[ServerThread]:
    server = ServerThread(pipeline, api_key="sk-local-123")
    yield server
    server.close()


def raw_exchange(api: ServerThread, data: bytes) -> tuple[int, dict[str, object]]:
    """Send raw bytes, read the answer to the close: its status and JSON body."""
    with closing(socket.create_connection((api.host, api.port), timeout=30)) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def assert_openai_error(body: object, code: str | None = None) -> dict[str, object]:
    assert isinstance(body, dict) and set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["code"] == code
    return error


def test_malformed_json_is_a_400_with_an_openai_error_body(api: ServerThread) -> None:
    status, _, body = api.request("POST", "/v1/chat/completions", b'{"model": "auto",', JSON)

    assert status == 400
    error = assert_openai_error(body)
    assert error["type"] == "invalid_request_error" and error["param"] is None


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"messages": [{"role": "user", "content": "  \x00 "}]}, "messages[0].content", None),
        ({"messages": []}, "messages", None),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, "messages", None),
        ({"messages": [{"role": "tool", "content": "42"}]}, "messages[0].role", None),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages[0].content",
            "invalid_type",
        ),
        ({"temperature": 2.5}, "temperature", None),
        ({"top_p": "high"}, "top_p", "invalid_type"),
        ({"max_tokens": 0}, "max_tokens", None),
        ({"max_completion_tokens": True}, "max_completion_tokens", "invalid_type"),
        ({"seed": -1}, "seed", None),
        ({"n": 2}, "n", "unsupported_parameter"),
        ({"stop": ["1", "2", "3", "4", "5"]}, "stop", None),
        ({"stop": ["\n", 7]}, "stop", "invalid_type"),
        ({"stream": "yes"}, "stream", "invalid_type"),
        ({"stream_options": {"include_usage": True}}, "stream_options", None),
        ({"model": ""}, "model", None),
    ],
)
def test_bad_parameters_are_400s_naming_the_parameter(
    api: ServerThread, fields: dict[str, object], param: str, code: str | None
) -> None:
    status, _, body = api.request("POST", "/v1/chat/completions", chat_body(**fields), JSON)

    assert status == 400
    error = assert_openai_error(body, code or "invalid_value")
    assert error["param"] == param


def test_an_unknown_model_is_a_404(api: ServerThread) -> None:
    status, _, body = api.request("POST", "/v1/chat/completions", chat_body(model="gpt-4o"), JSON)

    assert status == 404
    assert assert_openai_error(body, "model_not_found")["param"] == "model"


def test_models_lists_auto_and_the_tiers(api: ServerThread) -> None:
    status, _, body = api.request("GET", "/v1/models")

    assert status == 200 and body["object"] == "list"
    assert [entry["id"] for entry in body["data"]] == [
        "auto",
        "nano",
        "micro",
        "small",
        "medium",
        "large",
    ]
    assert api.request("GET", "/v1/models/NANO")[2]["id"] == "nano"
    assert api.request("GET", "/v1/models/%20small")[2]["id"] == "small"
    assert api.request("GET", "/v1/models/gpt-4o")[0] == 404


def test_unknown_urls_methods_and_bodies_are_refused_in_openai_shape(api: ServerThread) -> None:
    status, _, body = api.request("GET", "/v1/embeddings")
    assert status == 404
    assert_openai_error(body, "unknown_url")

    status, headers, body = api.request("GET", "/v1/chat/completions")
    assert status == 405 and headers["allow"] == "POST"
    assert_openai_error(body, "method_not_supported")

    status, _, body = api.request("POST", "/v1/chat/completions", chat_body(), {})
    assert status == 415
    assert_openai_error(body)


def test_a_request_naming_another_host_is_refused(api: ServerThread) -> None:
    # What a web page that rebinds its DNS name to 127.0.0.1 would send.
    status, _, body = api.request("GET", "/v1/models", headers={"Host": "evil.example:8765"})

    assert status == 403
    assert_openai_error(body, "host_not_allowed")
    assert api.request("GET", "/v1/models", headers={"Host": f"localhost:{api.port}"})[0] == 200


def test_the_api_key_is_enforced(keyed_api: ServerThread) -> None:
    base_url = keyed_api.server.base_url
    for key in ("wrong-key", "sk-local-1234"):
        with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
            with pytest.raises(openai.AuthenticationError) as caught:
                client.models.list()
            assert caught.value.status_code == 401
            assert caught.value.code == "invalid_api_key"
    status, headers, body = keyed_api.request("GET", "/v1/models")
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert_openai_error(body, "invalid_api_key")

    with openai.OpenAI(base_url=base_url, api_key="sk-local-123", max_retries=0) as client:
        assert client.models.list().data[0].id == "auto"


def test_one_connection_carries_several_requests(api: ServerThread) -> None:
    with closing(socket.create_connection((api.host, api.port), timeout=30)) as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status_line = reader.readline()
            headers = {}
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            body = reader.read(int(headers["content-length"]))
            assert status_line.startswith(b"HTTP/1.1 200") and headers["connection"] == "keep-alive"
            assert json.loads(body)["object"] == "list"
        reader.close()


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (
            b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
            431,
        ),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 9000000\r\n\r\n",
            413,
        ),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
        (b"GET /v1/models HTTP/1.1\r\nContent-Length: 5, 7\r\n\r\n", 400),
        (b"GET /v1/models HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /v1/models HTTP/2.0\r\n\r\n", 505),
    ],
)
def test_requests_beyond_the_limits_are_refused_and_the_connection_closed(
    api: ServerThread, data: bytes, status: int
) -> None:
    answer_status, body = raw_exchange(api, data)

    assert answer_status == status
    assert_openai_error(body)


def test_the_server_stays_up_after_bad_requests(api: ServerThread) -> None:
    raw_exchange(api, b"\x00\xff" * 100 + b"\r\n\r\n")

    assert api.request("GET", "/v1/models")[0] == 200


def test_a_body_that_does_not_arrive_in_time_is_a_408(impatient_api: ServerThread) -> None:
    status, body = raw_exchange(
        impatient_api,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{}",
    )

    assert status == 408
    assert_openai_error(body)


def test_a_silent_connection_is_closed(impatient_api: ServerThread) -> None:
    with closing(socket.create_connection((impatient_api.host, impatient_api.port))) as sock:
        sock.settimeout(10)
        assert sock.recv(1) == b""  # closed by the server, with nothing to say
