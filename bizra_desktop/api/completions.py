"""POST /v1/chat/completions: one pipeline run, answered as one JSON body or as a stream.

A stream is server-sent events: `data: {chat.completion.chunk}` for the role, each piece of
text and the finish, then `data: [DONE]`. The status line goes out once the prompt is routed,
so a request that fails before (a bad prompt, a full queue) still gets a proper error status;
a failure after that arrives as one `data: {"error": ...}` event, which OpenAI clients raise.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from bizra_desktop.api.catalog import ModelCatalog
from bizra_desktop.api.chat_request import ChatRequest, parse_chat_request
from bizra_desktop.api.errors import SERVER_ERROR, ApiError
from bizra_desktop.api.http import JsonBody, Reply, sse_event
from bizra_desktop.api.job import PipelineJob
from bizra_desktop.api.responses import CompletionFrame
from bizra_desktop.api.run_queue import QueueFull, RunQueue
from bizra_desktop.core.engine.protocol import FailureKind
from bizra_desktop.core.exchanges import SaveTo, Stored
from bizra_desktop.core.pipeline import Failed, Finished, Pipeline, Routed, RunOptions, Token
from bizra_desktop.core.presets import find_preset

_DONE = b"data: [DONE]\n\n"
_STREAM_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


class ChatCompletions:
    def __init__(
        self,
        pipeline: Pipeline,
        queue: RunQueue,
        catalog: ModelCatalog,
        defaults: Callable[[], RunOptions],
    ) -> None:
        self.pipeline = pipeline
        self.queue = queue
        self.catalog = catalog
        self.defaults = defaults

    async def handle(self, request: Request, reply: Reply) -> None:
        body = await request.body()  # read before routing: this returns what was kept
        # Off the loop, which may be the window's: a body may be megabytes of JSON, and the
        # model lookup reads the model files' headers.
        presets = functools.partial(find_preset, self.pipeline.paths.database)
        chat = await asyncio.to_thread(
            parse_chat_request, body, self.catalog, self.defaults(), presets
        )
        # Stored as a conversation the window lists (marked API); the pipeline continues the
        # one whose turns the request's history repeats. A new one records the request's preset.
        options = replace(chat.options, save_to=SaveTo(source="api", preset=chat.preset))
        job = PipelineJob(self.pipeline, chat.prompt, options, asyncio.get_running_loop())
        try:
            await self.queue.submit(job, request.is_disconnected)
        except QueueFull:
            raise ApiError(
                HTTPStatus.TOO_MANY_REQUESTS,
                f"{self.queue.max_waiting} requests are already waiting for the model; "
                "try again when one is answered",
                kind="requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": "1"},
            ) from None
        try:
            routed = await _routed(job)
            if chat.stream:
                events = _stream(job, routed, chat)
                await reply.send(StreamingResponse(events, headers=_STREAM_HEADERS))
            else:
                await reply.send(JsonBody(await _complete(job)))
        except BaseException:
            job.cancel()  # the client is gone (or the server closing): stop generating for it
            raise


async def _routed(job: PipelineJob) -> Routed:
    """The run's first event after its prompt is stored, which says where the prompt goes;
    ApiError if it failed."""
    event = await job.next_event()
    if isinstance(event, Stored):
        event = await job.next_event()
    if isinstance(event, Failed):
        raise _failure(event)
    assert isinstance(event, Routed), f"a run starts with Routed or Failed, not {event}"
    return event


async def _complete(job: PipelineJob) -> dict[str, Any]:
    while (event := await job.next_event()) is not None:
        if isinstance(event, Finished):
            return CompletionFrame(event.decision.model.name).completion(event)
        if isinstance(event, Failed):
            raise _failure(event)
    raise AssertionError("a run ends with Finished or Failed")


async def _stream(job: PipelineJob, routed: Routed, chat: ChatRequest) -> AsyncIterator[bytes]:
    frame = CompletionFrame(routed.decision.model.name)
    yield sse_event(frame.chunk({"role": "assistant", "content": ""}))
    while (event := await job.next_event()) is not None:
        if isinstance(event, Token) and event.text:
            yield sse_event(frame.chunk({"content": event.text}))
        elif isinstance(event, Finished):
            closing = frame.closing_chunks(event, chat.include_usage)
            yield b"".join(map(sse_event, closing)) + _DONE
        elif isinstance(event, Failed):
            yield sse_event(_failure(event).body())


def _failure(failed: Failed) -> ApiError:
    """A failed run as OpenAI would report it: the caller's fault (400) or ours (500)."""
    if failed.kind is FailureKind.BAD_INPUT:
        return ApiError(HTTPStatus.BAD_REQUEST, failed.message, param="messages")
    if failed.kind is FailureKind.NO_MODEL:
        return ApiError(
            HTTPStatus.SERVICE_UNAVAILABLE, failed.message, kind=SERVER_ERROR, code="no_model"
        )
    if failed.kind is FailureKind.CONTEXT_OVERFLOW:
        return ApiError(
            HTTPStatus.BAD_REQUEST,
            failed.message,
            param="messages",
            code="context_length_exceeded",
        )
    return ApiError(
        HTTPStatus.INTERNAL_SERVER_ERROR, failed.message, kind=SERVER_ERROR, code=failed.kind.value
    )
