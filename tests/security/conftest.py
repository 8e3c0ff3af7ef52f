"""Fixtures for the hardening tests: a recording upstream and a real data plane in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.integration.dataplane.harness import DataPlaneProcess, Store, start_dataplane
from tests.security.recorder import RecordingUpstream
from tests.unit.controlplane.conftest import api, services, settings

__all__ = ["SLOW_CLIENT_TIMEOUT_S", "Front", "api", "front", "services", "settings"]

SLOW_CLIENT_TIMEOUT_S = 1.0


@dataclass
class Front:
    dataplane: DataPlaneProcess
    upstream: RecordingUpstream
    store: Store


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """One data plane (one worker) in front of a recording upstream, shared by a module's tests."""
    tmp = tmp_path_factory.mktemp("front")
    upstream = RecordingUpstream().start()
    store = Store(tmp / "store.sqlite3")
    dataplane = start_dataplane(
        tmp / "home",
        store,
        upstream.url,
        extra_env={
            "STRANGLER_HEADER_TIMEOUT_S": str(SLOW_CLIENT_TIMEOUT_S),
            "STRANGLER_BODY_IDLE_TIMEOUT_S": str(SLOW_CLIENT_TIMEOUT_S),
            "STRANGLER_MAX_HEADER_BYTES": "16384",
        },
    )
    try:
        yield Front(dataplane, upstream, store)
    finally:
        dataplane.process.stop()
        upstream.stop()
        store.engine.dispose()
