"""What every `bizra` command shares: exit codes, the one-line error, argument types, JSON
output, and a console that never fails on text its encoding lacks.

Exit codes: 0 success; 1 the work failed (inference error, invalid receipt chain);
2 bad input (empty prompt, unusable model file, bad arguments); 130 interrupted.
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
import sys
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def print_json(record: dict[str, Any], out: TextIO) -> None:
    # ASCII with \u escapes: the same JSON whatever the console or pipe encodes with (a
    # Windows pipe is cp1252), and any JSON reader turns it back into the text.
    out.write(json.dumps(record) + "\n")
    out.flush()


# The symbols our own output uses, as a console without them can still show them.
_CONSOLE_SPELLINGS = {"→": "->", "←": "<-", "✓": "v", "✗": "x", "≥": ">=", "≤": "<="}
_CONSOLE_ERRORS = "bizra-console"


def _console_spelling(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    return "".join(_CONSOLE_SPELLINGS.get(char, "?") for char in text), error.end


def console_never_fails() -> None:
    """Text the console's encoding lacks (CJK on cp1252) comes out as '?', our arrows as '->',
    never as a UnicodeEncodeError that ends the command."""
    codecs.register_error(_CONSOLE_ERRORS, _console_spelling)
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if isinstance(stream, io.TextIOWrapper) and encoding not in ("utf8", "utf16", "utf32"):
            stream.reconfigure(errors=_CONSOLE_ERRORS)
