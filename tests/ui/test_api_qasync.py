"""The local API on the app's own event loop (qasync over Qt), as the window runs it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import openai
import pytest
import qasync
from PySide6.QtWidgets import QApplication

from bizra_desktop.api import start_api_server
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline

pytestmark = pytest.mark.model


def stream_hello(base_url: str) -> tuple[str, dict[str, Any]]:
    """A blocking client, as an outside program would be: the answer and its `bizra` field."""
    with openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0) as client:
        stream = client.chat.completions.create(
            model="auto",
            messages=[{"role": "user", "content": "Hello!"}],
            max_tokens=4,
            stream=True,
        )
        with stream:
            chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert chunks[-1].model_extra is not None
    return text, chunks[-1].model_extra["bizra"]


def test_the_api_streams_an_answer_on_the_qasync_loop(qapp: QApplication, tmp_path: Path) -> None:
    pipeline = Pipeline(DataPaths(tmp_path))
    loop = qasync.QEventLoop(qapp)

    async def serve_one() -> tuple[str, dict[str, Any]]:
        server = await start_api_server(pipeline, "127.0.0.1", 0)
        try:
            return await asyncio.to_thread(stream_hello, server.base_url)
        finally:
            server.close()
            await server.wait_closed()

    try:
        text, bizra = loop.run_until_complete(serve_one())
    finally:
        loop.close()
        pipeline.close()

    assert text
    assert bizra["tier"] == "NANO" and len(bizra["receipt_hash"]) == 64
