"""The orders SQL adapters on PostgreSQL (a fresh database per test)."""

from __future__ import annotations

import pytest

from tests.unit.orders.sql_cases import migrated_engine, run_sql_cases

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_sql_adapters_on_postgres(postgres_url):
    engine = migrated_engine(postgres_url)
    try:
        run_sql_cases(engine)
    finally:
        engine.dispose()
