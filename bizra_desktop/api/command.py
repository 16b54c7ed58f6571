"""`bizra serve`: the local OpenAI-compatible API without the window, until Ctrl+C or SIGTERM.

Port and API key default to the settings (`api_port`, `api_key`), so the command line and the
window serve the same address with the same key. Errors are raised for bizra_desktop.main
to print as one line: a port that cannot be bound is an OSError (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from bizra_desktop.api import DEFAULT_HOST, DEFAULT_MAX_WAITING, start_api_server
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.pipeline import Pipeline
from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.settings import Settings, load_settings, valid_api_key

_API_LOG = "bizra_desktop.api"
_HTTP_LOG = "uvicorn.error"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser(
        "serve", help="serve the OpenAI-compatible API (/v1/chat/completions) on this machine"
    )
    serve.add_argument(
        "--host",
        metavar="H",
        default=DEFAULT_HOST,
        help="address to listen on (default %(default)s: this machine only)",
    )
    serve.add_argument(
        "--port", metavar="N", type=_port, help="port (default: the settings' api_port, 8765)"
    )
    serve.add_argument(
        "--api-key",
        metavar="KEY",
        type=_api_key,
        help="ask clients for 'Authorization: Bearer KEY' (default: the settings' api_key; "
        "empty: no key)",
    )
    serve.add_argument(
        "--max-waiting",
        metavar="N",
        type=_waiting,
        default=DEFAULT_MAX_WAITING,
        help="requests that may wait while one is answered; more get 429 (default %(default)s)",
    )
    serve.set_defaults(handler=cmd_serve)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 (any free port) to 65535")
    return value


def _api_key(text: str) -> str:
    if not valid_api_key(text):
        raise argparse.ArgumentTypeError("must be printable ASCII without spaces")
    return text


def _waiting(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def cmd_serve(args: argparse.Namespace) -> int:
    paths = data_paths()
    settings = load_settings(paths.settings)
    pipeline = Pipeline(paths)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bizra serve: %(message)s"))
    # Each request (the API's log), and what uvicorn warns of (requests it cannot parse); its
    # own start and stop messages are left out.
    logs = {_API_LOG: logging.INFO, _HTTP_LOG: logging.WARNING}
    for name, level in logs.items():
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(level)
    try:
        asyncio.run(_serve(pipeline, args, settings))
    finally:
        for name in logs:
            logging.getLogger(name).removeHandler(handler)
        pipeline.close()
    return 0


async def _serve(pipeline: Pipeline, args: argparse.Namespace, settings: Settings) -> None:
    port = settings.api_port if args.port is None else args.port
    try:
        server = await start_api_server(
            pipeline,
            args.host,
            port,
            settings.api_key if args.api_key is None else args.api_key,
            max_waiting=args.max_waiting,
            defaults=lambda: run_defaults(settings),
        )
    except OSError as error:
        raise OSError(f"cannot listen on {args.host}:{port}: {error.strerror or error}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers; there Ctrl+C interrupts asyncio.run (exit 130).
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    sys.stderr.write(f"Serving the OpenAI-compatible API at {server.base_url} (Ctrl+C stops)\n")
    sys.stderr.flush()
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
