"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import REDIS_URL, require_server, temporary_postgres_database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest):
    """A folder for test artifacts (screenshots, logs) kept after the run under test-artifacts/."""
    from tests.support.processes import ROOT

    path = ROOT / "test-artifacts" / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path
