#!/usr/bin/env python3
"""docs/screenshots/export-html.png: a conversation answered by the real starter model (in a
scratch BIZRA_HOME), exported as HTML by `bizra chats export`, opened in headless Chromium.

.venv/bin/python scripts/export_screenshot.py [--chromium chromium]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots" / "export-html.png"
PROMPTS = "What is the capital of France?\nName three colours. <b>not bold</b>\n\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "BIZRA_HOME": str(Path(scratch) / "home"), "PYTHONUTF8": "1"}

        def bizra(*argv: str, stdin: str | None = None) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "bizra_desktop", *argv],
                input=stdin,
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            return done.stdout

        bizra("chat", stdin=PROMPTS)
        page = Path(scratch) / "chat.html"
        print(bizra("chats", "export", "1", str(page)), end="")
        print(bizra("receipts", "verify", str(page)), end="")
        subprocess.run(
            [
                args.chromium,
                "--headless",
                "--no-sandbox",  # run as root in a container; the page has no script anyway
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1000,1100",
                f"--screenshot={OUT}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
