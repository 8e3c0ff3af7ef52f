"""The SQL adapters on a SQLite file: migrations, repositories, idempotency, shadow rollback."""

from __future__ import annotations

import pytest

from tests.unit.orders.sql_cases import migrated_engine, run_sql_cases

pytestmark = pytest.mark.unit


def test_sql_adapters_on_sqlite(tmp_path):
    engine = migrated_engine(f"sqlite:///{tmp_path / 'orders.sqlite3'}")
    try:
        run_sql_cases(engine)
    finally:
        engine.dispose()
