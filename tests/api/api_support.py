"""The local API server for tests: a real ApiServer on its own event loop in a thread.

The clients under test (the openai package, http.client, raw sockets) block, so the server's
loop cannot be the test's thread.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Coroutine
from contextlib import closing
from typing import Any, TypeVar

from bizra_desktop.api import ApiServer
from bizra_desktop.core.pipeline import Pipeline

T = TypeVar("T")


class ServerThread:
    def __init__(self, pipeline: Pipeline, **options: Any) -> None:
        """`options`: ApiServer's keyword arguments."""
        self.server = ApiServer(pipeline, **options)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="api-test-loop")
        self.thread.start()
        try:
            self.call(self.server.start("127.0.0.1", 0))
        except BaseException:
            self._stop_loop()
            raise
        self.host, self.port = self.server.address

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()
            await self.loop.shutdown_default_executor()

        try:
            self.call(stop())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """One request with http.client: status, headers (lower-case names), decoded JSON body."""
        with closing(http.client.HTTPConnection(self.host, self.port, timeout=60)) as conn:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            names = {name.lower(): value for name, value in response.getheaders()}
            return response.status, names, json.loads(data) if data else None


JSON = {"Content-Type": "application/json"}


def chat_body(prompt: str = "Hello!", **fields: Any) -> bytes:
    return json.dumps(
        {"model": "auto", "messages": [{"role": "user", "content": prompt}], **fields}
    ).encode()
