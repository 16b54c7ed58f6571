"""`bizra-desktop`: the desktop app's entry point.

The chat window is not built yet; until it is, this starts a conversation in the terminal
on the same pipeline the window will use.
"""

from __future__ import annotations

import sys

from bizra_desktop.cli import main as cli_main


def main() -> int:
    print("BIZRA Desktop: the chat window is not available yet; chatting in the terminal.")
    return cli_main(["chat", *sys.argv[1:]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
