"""Shared fixtures. Every test gets its own BIZRA_HOME: no test touches the real user data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bizra_desktop.core.paths import HOME_ENV


@pytest.fixture(autouse=True)
def bizra_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "bizra-home"
    monkeypatch.setenv(HOME_ENV, str(home))
    yield home
