"""The local OpenAI-compatible API: GET /v1/models and POST /v1/chat/completions.

Served by uvicorn (its h11 protocol, http.py) under an ASGI application (app.py, Starlette's
requests and responses), on whatever asyncio loop is running. Headless, `bizra serve`
(command.py). In the window, on the app's qasync loop, from a coroutine or
`asyncio.ensure_future`:

    server = await start_api_server(pipeline, "127.0.0.1", settings.api_port, settings.api_key,
                                    defaults=lambda: run_defaults(window.settings))
    ...
    server.close()               # stop listening, stop a running answer, end connections
    await server.wait_closed()   # until the pipeline is free again

`start_api_server` raises OSError when the port is taken. `defaults` is called per request
for what the request does not set (sampling, n_ctx, threads, GPU layers, system prompt).
Requests are served one at a time per server. The window and the server may share one
Pipeline: their runs take turns (Pipeline.start → Run), and each side's stop reaches only its
own run.
"""

from bizra_desktop.api.server import (
    DEFAULT_HOST,
    DEFAULT_MAX_WAITING,
    DEFAULT_PORT,
    ApiServer,
    start_api_server,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_WAITING",
    "DEFAULT_PORT",
    "ApiServer",
    "start_api_server",
]
