"""Fixtures for the engine's integration tests: the data plane's upstreams and store."""

from tests.integration.dataplane.conftest import legacy, new_service, store

__all__ = ["legacy", "new_service", "store"]
