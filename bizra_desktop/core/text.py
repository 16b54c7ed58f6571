"""Text from files and users, made safe to show in a one-line message."""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` for a one-line message: a name read from a file may hold a newline or a terminal
    escape; those are shown escaped (\\n, \\x1b), everything else as it is."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
