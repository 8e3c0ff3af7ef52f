"""The ACL reads a monolith kept on PostgreSQL (timestamps without time zone, char(1) codes) read-only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import InternalError

from acl.catalog import LegacyProductSource, ProductRecord, backfill_products
from acl.catalog.legacy_schema import legacy_metadata, tbl_category, tbl_product
from acl.catalog.source import read_only_engine
from tests.unit.acl.legacy_db import legacy_row

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class ListSink:
    def __init__(self) -> None:
        self.records: list[ProductRecord] = []

    def write(self, records: Sequence[ProductRecord]) -> int:
        self.records.extend(records)
        return len(records)


def test_backfill_from_a_postgres_monolith(postgres_url: str) -> None:
    writer = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    legacy_metadata.create_all(writer)
    with writer.begin() as connection:
        connection.execute(
            insert(tbl_category),
            [{"ctg_id": 3, "ctg_nm": "Knives", "parent_id": None, "cat_path": "Home>Kitchen>Knives"}],
        )
        connection.execute(insert(tbl_product), [legacy_row(i) for i in range(1, 6)])
    writer.dispose()

    engine = read_only_engine(postgres_url)
    try:
        sink = ListSink()
        report = backfill_products(LegacyProductSource(engine), sink, batch_size=2)
        assert report.ok and report.pages == 3
        assert sink.records[0].created_at == datetime(2016, 3, 2, 9, 0, tzinfo=UTC)
        with pytest.raises(InternalError, match="read-only"), engine.begin() as connection:
            connection.execute(text("DELETE FROM tbl_product"))
    finally:
        engine.dispose()
