"""Fixtures for the data-plane integration tests: real upstreams, a store, the data plane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dataplane.harness import Store, UpstreamServer, start_upstream


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "store.sqlite3")
    yield store
    store.engine.dispose()


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[UpstreamServer]:
    server = start_upstream("legacy", tmp_path)
    yield server
    server.process.stop()


@pytest.fixture
def new_service(tmp_path: Path) -> Iterator[UpstreamServer]:
    server = start_upstream("catalog", tmp_path)
    yield server
    server.process.stop()
