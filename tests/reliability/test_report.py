"""scripts/reliability_report.py reruns the marked cases and writes their table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_reruns_the_cases_and_writes_their_table(tmp_path: Path) -> None:
    page = tmp_path / "RELIABILITY.md"
    page.write_text("old\n\n## Long fuzz run\n\nkept from an earlier run\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "reliability_report.py"),
            "--out",
            str(page),
            "tests/core/test_checkpoint.py",
            "tests/core/test_gguf_fuzz.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = page.read_text(encoding="utf-8")
    assert "4 cases, 4 tests, 401 runs" in text and "every case held" in text
    assert text.index("## Fuzzing and properties") < text.index("## Secrets and privacy")
    assert (
        "| the signing key file is owner-only | the key made as on a first append: file mode and "
        "folder mode | 1 |" in text
    )
    assert "| byte flips in a real GGUF header | 150 hypothesis examples" in text
    assert "| 150 | as asserted | passed (1 test) |" in text
    assert text.endswith("## Long fuzz run\n\nkept from an earlier run\n")  # not rerun: kept
