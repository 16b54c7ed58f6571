"""Fixtures of the API tests: per test module, one data folder, one pipeline and one server on
127.0.0.1 (a module's tests share them, as clients share a running app)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bizra_desktop.api.http import Limits
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Pipeline
from tests.api.api_support import ServerThread


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    return DataPaths(tmp_path_factory.mktemp("api-home"))


@pytest.fixture(scope="module")
def pipeline(paths: DataPaths) -> Iterator[Pipeline]:
    instance = Pipeline(paths)
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def api(pipeline: Pipeline) -> Iterator[ServerThread]:
    server = ServerThread(pipeline)
    yield server
    server.close()


@pytest.fixture
def impatient_api(pipeline: Pipeline) -> Iterator[ServerThread]:
    """A server that gives up on slow headers and bodies after half a second."""
    server = ServerThread(pipeline, limits=Limits(head_timeout_s=0.5, body_timeout_s=0.5))
    yield server
    server.close()
