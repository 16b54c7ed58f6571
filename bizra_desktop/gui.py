"""`bizra-desktop`: the desktop app."""

from __future__ import annotations

import sys


def main() -> int:
    from bizra_desktop.ui.app import main as run_app  # noqa: PLC0415 - Qt loads only here

    return run_app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
