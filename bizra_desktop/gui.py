"""`bizra-desktop`: the desktop app's entry point.

The chat window is not built yet (issue: chat window); until it is, this starts a
conversation in the terminal on the same pipeline the window will use.
"""

from __future__ import annotations

import sys

from bizra_desktop.cli import EXIT_OK
from bizra_desktop.cli import main as cli_main


def main() -> int:
    print("BIZRA Desktop: the chat window is not available yet; chatting in the terminal.")
    print("Type a prompt and press Enter (empty line or Ctrl+D to quit).\n")
    while True:
        try:
            prompt = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return EXIT_OK
        if not prompt:
            return EXIT_OK
        cli_main(["ask", prompt])
        print()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
