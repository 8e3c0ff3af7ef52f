"""Product is mapped before any test module here builds one."""

from __future__ import annotations

import pytest

from new_services.catalog.adapters.orm import start_mappers


def pytest_configure(config: pytest.Config) -> None:
    start_mappers()
