"""The terminal front end: `bizra ask`, `chat`, `analyze`, `receipts`, `chats`, `models` and
`presets`, each group in its own module with a `register(subparsers)`.

The `bizra` command itself is assembled in bizra_desktop/main.py, which adds the API front end's
`serve` and the benchmarks' `bench` beside these.
"""

from __future__ import annotations

import argparse

from bizra_desktop.cli import chats, models, presets, prompts, receipts


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prompts.register(commands)
    receipts.register(commands)
    chats.register(commands)
    models.register(commands)
    presets.register(commands)
