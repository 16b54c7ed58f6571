"""`bizra`: the command line, assembled from the front ends that provide its commands.

The terminal front end (cli) gives ask, chat, analyze, receipts, chats, models and presets; the
API front end gives serve; the benchmarks give bench. This launcher sits above them all (the
layer contracts in pyproject.toml) and turns what escapes a command into one line and an exit
code: 0 success; 1 the work failed; 2 bad input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence

from bizra_desktop import __version__, cli
from bizra_desktop.api import command as serve_command
from bizra_desktop.bench import command as bench_command
from bizra_desktop.cli.console import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    CliError,
    console_never_fails,
)
from bizra_desktop.core.pipeline import PromptError
from bizra_desktop.core.presets import UnknownPresetError
from bizra_desktop.core.receipts.chain import ReceiptStoreError
from bizra_desktop.core.selector import NoModelError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bizra", description="BIZRA Desktop: local LLM answers, routed and receipted."
    )
    parser.add_argument("--version", action="version", version=f"bizra {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    cli.register(commands)
    bench_command.register(commands)
    serve_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    console_never_fails()
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except CliError as error:
        print(f"bizra: error: {error}", file=sys.stderr)
        return error.code
    except (PromptError, NoModelError, UnknownPresetError) as error:
        print(f"bizra: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as error:  # ModelFileError, GGUFError, bad tier names
        print(f"bizra: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ReceiptStoreError, sqlite3.Error) as error:  # e.g. a read-only data folder
        print(f"bizra: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("bizra: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:
        print(f"bizra: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
