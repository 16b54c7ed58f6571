"""Fixtures shared by the model-manager tests: a local Hub server and a manager talking to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bizra_desktop.core.models.hub import Hub
from bizra_desktop.core.models.manager import ModelManager
from bizra_desktop.core.paths import DataPaths
from tests.hub_server import HubServer


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer() as server:
        yield server


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    return DataPaths(tmp_path / "home")


@pytest.fixture
def manager(hub: HubServer, paths: DataPaths) -> ModelManager:
    return ModelManager(paths, Hub(hub.url, token=False))
