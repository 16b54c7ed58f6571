"""`bizra-desktop`: the desktop app."""

from __future__ import annotations

import sys


def main() -> int:
    # Qt loads only here. The launcher joins the two front ends: the window serves the API
    # through the API front end's starter, and neither imports the other.
    from bizra_desktop.api import start_api_server  # noqa: PLC0415
    from bizra_desktop.ui.app import main as run_app  # noqa: PLC0415

    return run_app(start_api_server)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
