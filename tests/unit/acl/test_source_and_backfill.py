"""LegacyProductSource reads tbl_product page by page, read-only; backfill_products feeds a sink."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from acl.catalog import LegacyProductSource, ProductRecord, backfill_products
from acl.catalog.source import read_only_engine
from tests.unit.acl.legacy_db import legacy_row, make_legacy_database

pytestmark = pytest.mark.unit


class ListSink:
    def __init__(self) -> None:
        self.batches: list[list[ProductRecord]] = []

    def write(self, records: Sequence[ProductRecord]) -> int:
        self.batches.append(list(records))
        return len(records)


def test_pages_in_id_order_with_keyset(tmp_path: Path) -> None:
    url = make_legacy_database(tmp_path / "legacy.sqlite3", [legacy_row(i) for i in (5, 1, 9, 3, 7)])
    engine = read_only_engine(url)
    try:
        source = LegacyProductSource(engine)
        pages = list(source.pages(batch_size=2))
        assert source.count() == 5
    finally:
        engine.dispose()
    assert [[r.id for r in page.records] for page in pages] == [[1, 3], [5, 7], [9]]
    assert [page.last_id for page in pages] == [3, 7, 9]


def test_backfill_reports_rejected_rows_and_writes_the_rest(tmp_path: Path) -> None:
    rows = [legacy_row(i) for i in range(1, 8)]
    rows[2]["unit_prc"] = "3.5"  # prd_id 3: one decimal only
    rows[5]["sts_cd"] = "X"  # prd_id 6
    url = make_legacy_database(tmp_path / "legacy.sqlite3", rows)
    engine = read_only_engine(url)
    sink = ListSink()
    seen_pages: list[int] = []
    try:
        report = backfill_products(
            LegacyProductSource(engine), sink, batch_size=3, on_page=lambda r: seen_pages.append(r.pages)
        )
    finally:
        engine.dispose()
    assert [[r.id for r in batch] for batch in sink.batches] == [[1, 2], [4, 5], [7]]
    assert (report.read, report.written, report.pages, report.last_id) == (7, 5, 3, 7)
    assert [(r.legacy_id, r.error.field) for r in report.rejected] == [(3, "unit_prc"), (6, "sts_cd")]
    assert not report.ok
    assert seen_pages == [1, 2, 3]


def test_backfill_resumes_after_an_id(tmp_path: Path) -> None:
    url = make_legacy_database(tmp_path / "legacy.sqlite3", [legacy_row(i) for i in range(1, 6)])
    engine = read_only_engine(url)
    sink = ListSink()
    try:
        report = backfill_products(LegacyProductSource(engine), sink, after_id=3)
    finally:
        engine.dispose()
    assert [r.id for batch in sink.batches for r in batch] == [4, 5]
    assert report.ok


def test_empty_table_is_an_empty_backfill(tmp_path: Path) -> None:
    url = make_legacy_database(tmp_path / "legacy.sqlite3", [])
    engine = read_only_engine(url)
    try:
        report = backfill_products(LegacyProductSource(engine), ListSink())
    finally:
        engine.dispose()
    assert (report.read, report.pages, report.ok) == (0, 0, True)


def test_the_legacy_database_is_opened_read_only(tmp_path: Path) -> None:
    url = make_legacy_database(tmp_path / "legacy.sqlite3", [legacy_row(1)])
    engine = read_only_engine(url)
    try:
        with pytest.raises(OperationalError, match="readonly"), engine.begin() as connection:
            connection.execute(text("DELETE FROM tbl_product"))
    finally:
        engine.dispose()


def test_missing_legacy_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_only_engine(f"sqlite:///{tmp_path / 'nope.sqlite3'}")
    with pytest.raises(ValueError):
        read_only_engine("sqlite://")
    engine = read_only_engine(make_legacy_database(tmp_path / "legacy.sqlite3", []))
    try:
        with pytest.raises(ValueError, match="batch_size"):
            next(LegacyProductSource(engine).pages(batch_size=0))
    finally:
        engine.dispose()
