"""The local API on the real starter model, through the official openai client, unchanged:
routing, pinning, streaming, receipts, the bounded queue and clients that go away."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import openai
import pytest

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline
from bizra_desktop.core.receipts.chain import Receipt, ReceiptChain
from tests.api.api_support import ServerThread, chat_body

pytestmark = pytest.mark.model

HELLO = [{"role": "user", "content": "Hello!"}]
STORY = [{"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}]
LONG = 2000  # tokens: far more than a stopped answer gets to


@pytest.fixture
def client(api: ServerThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=api.server.base_url, api_key="unused", max_retries=0) as instance:
        yield instance


def receipts(database: Path) -> list[Receipt]:
    chain = ReceiptChain(database)
    try:
        return list(chain)
    finally:
        chain.close()


def test_auto_routing_answers_and_writes_a_receipt(client: openai.OpenAI, paths: DataPaths) -> None:
    completion = client.chat.completions.create(
        model="auto", messages=HELLO, max_tokens=8, temperature=0, seed=7
    )

    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.model == "SmolLM2-135M-Instruct"
    assert completion.model_extra is not None
    bizra = completion.model_extra["bizra"]
    assert bizra["tier"] == "NANO" and bizra["complexity"] == "trivial"
    assert bizra["model"] == "SmolLM2-135M-Instruct"
    assert any("greeting" in reason for reason in bizra["reasons"])
    assert completion.usage is not None and completion.usage.completion_tokens == bizra["tokens"]

    chain = ReceiptChain(paths.database)
    try:
        receipt = chain.get(bizra["receipt_hash"])
        assert receipt is not None
        assert receipt.body["tier"] == "NANO" and receipt.body["complexity"] == "trivial"
        assert receipt.body["params"]["max_tokens"] == 8
        assert receipt.body["params"]["temperature"] == 0.0 and receipt.body["params"]["seed"] == 7
        assert receipt.body["tokens"]["completion"] == completion.usage.completion_tokens
        assert chain.verify().ok
    finally:
        chain.close()


def test_a_pinned_tier_streams_with_the_routing_on_the_closing_chunks(
    client: openai.OpenAI, paths: DataPaths
) -> None:
    stream = client.chat.completions.create(
        model="Small",
        messages=HELLO,
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    with stream:
        chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text
    finish = next(chunk for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason)
    assert finish.choices[0].finish_reason in ("stop", "length")
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    for closing_chunk in (finish, last):
        assert closing_chunk.model_extra is not None
        bizra = closing_chunk.model_extra["bizra"]
        assert bizra["tier"] == "SMALL"
        assert any("pinned by you" in reason for reason in bizra["reasons"])
    assert len({chunk.id for chunk in chunks}) == 1
    assert receipts(paths.database)[-1].hash == bizra["receipt_hash"]


def test_models_lists_what_the_client_may_ask_for(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]

    assert ids[:6] == ["auto", "nano", "micro", "small", "medium", "large"]
    assert client.models.retrieve("large").owned_by == "bizra"


def test_a_client_that_disconnects_mid_stream_stops_the_generation(
    client: openai.OpenAI, paths: DataPaths
) -> None:
    before = len(receipts(paths.database))
    stream = client.chat.completions.create(
        model="auto", messages=STORY, max_tokens=LONG, temperature=0, stream=True
    )
    with stream:
        pieces = [next(stream), next(stream)]  # the role, then the first text
    assert pieces[1].choices[0].delta.content

    started = time.monotonic()
    quick = client.chat.completions.create(model="nano", messages=HELLO, max_tokens=2)
    waited = time.monotonic() - started

    stopped, answered = receipts(paths.database)[before:]
    assert stopped.body["stopped"] is True
    assert stopped.body["tokens"]["completion"] < 50  # of LONG: stopped, not run out
    assert quick.model_extra is not None
    assert answered.hash == quick.model_extra["bizra"]["receipt_hash"]
    assert waited < 30, f"the next request waited {waited:.1f} s"


def open_stream(api: ServerThread) -> socket.socket:
    """A raw streaming request for a long answer, left unread."""
    body = chat_body(STORY[0]["content"], stream=True, max_tokens=LONG)
    sock = socket.create_connection((api.host, api.port), timeout=60)
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    return sock


def read_to_close(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@contextmanager
def one_running_one_waiting(api: ServerThread) -> Iterator[None]:
    """Two streaming requests: the first routed and running, the second admitted to wait."""
    with closing(open_stream(api)) as running:
        assert running.recv(65536).startswith(b"HTTP/1.1 200 OK")  # routed: it runs
        with closing(open_stream(api)):
            wait_for(lambda: api.server.queue.admitted == 2, "the second request to wait")
            yield


def test_a_full_queue_answers_429_at_once_and_frees_up(
    pipeline: Pipeline, paths: DataPaths
) -> None:
    api = ServerThread(pipeline, max_waiting=1)
    before = len(receipts(paths.database))
    try:
        with one_running_one_waiting(api):
            started = time.monotonic()
            with (
                openai.OpenAI(
                    base_url=api.server.base_url, api_key="unused", max_retries=0
                ) as refused_client,
                pytest.raises(openai.RateLimitError) as caught,
            ):
                refused_client.chat.completions.create(model="auto", messages=HELLO)
            assert time.monotonic() - started < 5
        assert caught.value.status_code == 429 and caught.value.code == "rate_limit_exceeded"
        assert caught.value.response.headers["retry-after"] == "1"

        # Both clients are gone: the running answer stops, the waiting one never runs.
        api.call(api.server.queue.wait_idle())
        assert api.server.queue.admitted == 0
        (stopped,) = receipts(paths.database)[before:]
        assert stopped.body["stopped"] is True
        status, _, body = api.request(
            "POST",
            "/v1/chat/completions",
            chat_body(max_tokens=2),
            {"Content-Type": "application/json"},
        )
        assert status == 200 and body["bizra"]["tier"] == "NANO"
    finally:
        api.close()


def test_a_request_whose_client_left_while_it_waited_never_runs(
    pipeline: Pipeline, paths: DataPaths
) -> None:
    api = ServerThread(pipeline, max_waiting=1)
    before = len(receipts(paths.database))
    try:
        with one_running_one_waiting(api):
            pass
        # The running answer stops when its next token cannot be written; the waiting one
        # gets its turn with its client long gone.
        wait_for(lambda: api.server.queue.admitted == 0, "the queue to empty")
        (stopped,) = receipts(paths.database)[before:]
        assert stopped.body["stopped"] is True
    finally:
        api.close()


def test_a_failure_after_routing_is_an_error_event_in_the_stream(api: ServerThread) -> None:
    # A prompt longer than the context window fails once the model has it.
    body = chat_body("word " * 6000, stream=True, max_tokens=4)
    with closing(socket.create_connection((api.host, api.port), timeout=60)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        answer = read_to_close(sock)
    events = [line[6:] for line in answer.split(b"\n") if line.startswith(b"data: ")]
    error = json.loads(events[-1])["error"]
    assert error["code"] == "context_length_exceeded" and error["type"] == "invalid_request_error"


def test_closing_the_server_stops_a_running_answer(pipeline: Pipeline, paths: DataPaths) -> None:
    api = ServerThread(pipeline)
    before = len(receipts(paths.database))
    with closing(open_stream(api)) as running:
        try:
            assert running.recv(65536).startswith(b"HTTP/1.1 200 OK")
        finally:
            started = time.monotonic()
            api.close()  # what switching the API off in the window does
        assert time.monotonic() - started < 30
        read_to_close(running)

    (stopped,) = receipts(paths.database)[before:]
    assert stopped.body["stopped"] is True


def test_stop_sequences_end_the_answer_before_them(client: openai.OpenAI, paths: DataPaths) -> None:
    days = [{"role": "user", "content": "List the days of the week, one per line."}]
    settings = {"model": "nano", "messages": days, "max_tokens": 40, "temperature": 0, "seed": 3}
    whole = client.chat.completions.create(**settings).choices[0].message.content
    assert whole
    middle = len(whole) // 2
    stop = whole[middle : middle + 3]  # three characters from the middle of the answer
    cut = whole[: whole.index(stop)]
    assert cut
    stops = [stop, "never in this answer"]

    answer = client.chat.completions.create(**settings, stop=stops).choices[0]
    stream = client.chat.completions.create(**settings, stop=stop, stream=True)
    with stream:
        chunks = list(stream)

    assert answer.message.content == cut and answer.finish_reason == "stop"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == cut
    assert chunks[-1].choices[0].finish_reason == "stop"
    stopped_receipt, streamed_receipt = receipts(paths.database)[-2:]
    assert stopped_receipt.body["params"]["stop"] == stops
    assert streamed_receipt.body["params"]["stop"] == [stop]
    assert streamed_receipt.body["stopped"] is False  # ended by its stop, not stopped by anyone


def test_closing_the_server_mid_answer_tells_its_client(
    pipeline: Pipeline, paths: DataPaths
) -> None:
    api = ServerThread(pipeline)
    before = len(receipts(paths.database))
    with openai.OpenAI(base_url=api.server.base_url, api_key="unused", max_retries=0) as client:
        try:
            stream = client.chat.completions.create(
                model="auto", messages=STORY, max_tokens=LONG, temperature=0, stream=True
            )
            assert next(stream).choices[0].delta.role == "assistant"
        finally:
            api.close()
        with stream, pytest.raises(openai.APIError, match="shutting down"):
            list(stream)

    (stopped,) = receipts(paths.database)[before:]
    assert stopped.body["stopped"] is True
