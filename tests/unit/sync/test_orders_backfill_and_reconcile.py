"""Backfill and reconcile of orders against a throw-away legacy database and an in-memory orders port."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from acl.catalog.legacy_schema import legacy_metadata, tbl_category, tbl_product
from acl.catalog.source import read_only_engine
from acl.orders.legacy_schema import legacy_orders_metadata, tbl_customer, tbl_order, tbl_order_line
from acl.orders.records import OrderStatus
from acl.orders.source import LegacyOrderSource
from acl.orders.sync.backfill import run_orders_backfill
from acl.orders.sync.reconcile import reconcile_order_records, reconcile_orders
from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.reconcile import Difference
from tests.unit.acl.legacy_db import legacy_row
from tests.unit.sync.order_fakes import FakeOrdersPort

pytestmark = pytest.mark.unit

ORDERS = 23
BROKEN = 7  # its total is not the sum of its lines


def _legacy_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    legacy_metadata.create_all(engine)
    legacy_orders_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(tbl_category), [{"ctg_id": 3, "ctg_nm": "Knives", "parent_id": None, "cat_path": "Knives"}]
        )
        connection.execute(insert(tbl_product), [legacy_row(n, ctg_id=3, cat_path="Knives") for n in (1, 2)])
        connection.execute(insert(tbl_customer), [{"cust_id": 1, "user_id": 7, "cust_nm": "Ann"}])
        connection.execute(
            insert(tbl_order),
            [
                {
                    "ord_id": n,
                    "ord_no": f"ORD-20250101-{n:06d}",
                    "cust_id": 1,
                    "ord_sts": "SPNC"[n % 4],
                    "tot_amt": "99.99" if n == BROKEN else "3.03",  # 1.01 + 2 x 1.01 (legacy_row's prices)
                    "ord_dt": datetime(2025, 1, 1, 10) + timedelta(hours=n),
                }
                for n in range(1, ORDERS + 1)
            ],
        )
        connection.execute(
            insert(tbl_order_line),
            [
                {"ord_id": n, "prd_id": product, "qty": qty, "unit_prc": "1.01"}
                for n in range(1, ORDERS + 1)
                for product, qty in ((1, 1), (2, 2))
            ],
        )
    engine.dispose()
    return url


@pytest.fixture
def source(tmp_path: Path):
    engine = read_only_engine(_legacy_database(tmp_path / "legacy.sqlite3"))
    yield LegacyOrderSource(engine)
    engine.dispose()


def test_the_source_translates_every_order_and_reports_the_broken_one(source) -> None:
    pages = list(source.pages(batch_size=10))
    assert [page.last_id for page in pages] == [10, 20, 23]
    assert source.count() == ORDERS
    records = [record for page in pages for record in page.records]
    assert len(records) == ORDERS - 1
    assert [row.legacy_id for page in pages for row in page.rejected] == [BROKEN]
    first = records[0]
    assert (first.customer_user_id, first.status, str(first.total)) == (7, OrderStatus.PAID, "3.03")
    assert [(line.sku, line.quantity) for line in first.lines] == [("LS-000001", 1), ("LS-000002", 2)]


def test_backfill_resumes_from_its_checkpoint_and_reports_what_it_rejected(source, sync_db) -> None:
    port, checkpoints = FakeOrdersPort(), CheckpointStore(sync_db)
    first = run_orders_backfill(source, port, checkpoints, batch_size=10, max_pages=1)
    assert (first.written, first.complete, first.started_after, first.last_id) == (9, False, 0, 10)
    assert [refused.legacy_id for refused in first.rejected] == [BROKEN] and not first.ok
    second = run_orders_backfill(source, port, checkpoints, batch_size=10)
    assert (second.written, second.complete, second.started_after, second.read) == (13, True, 10, 13)
    assert second.ok
    assert port.count_orders() == ORDERS - 1
    again = run_orders_backfill(source, port, checkpoints, batch_size=10)  # finished: from the start
    assert (again.started_after, again.written) == (0, ORDERS - 1)
    assert port.count_orders() == ORDERS - 1  # upserts: nothing doubled


def test_an_order_the_service_refuses_is_reported_and_the_rest_written(source, sync_db) -> None:
    port = FakeOrdersPort()
    port.refuse.add("ORD-20250101-000003")
    report = run_orders_backfill(source, port, CheckpointStore(sync_db), batch_size=50)
    assert sorted(str(refused.legacy_id) for refused in report.rejected) == ["7", "ORD-20250101-000003"]
    assert port.count_orders() == ORDERS - 2


def test_reconcile_lists_every_kind_of_difference(source, sync_db) -> None:
    port = FakeOrdersPort()
    run_orders_backfill(source, port, CheckpointStore(sync_db), batch_size=50)
    report = reconcile_orders(source, port)
    assert report.differences == [] and report.rejected_legacy_ids == [BROKEN]
    assert (report.legacy_count, report.service_count) == (ORDERS - 1, ORDERS - 1)

    legacy = [record for page in source.pages() for record in page.records]
    service = list(legacy)
    service[0] = replace(service[0], status=OrderStatus.CANCELLED)
    service[1] = replace(
        service[1], lines=(replace(service[1].lines[0], name="Renamed"), *service[1].lines[1:])
    )
    service[2] = replace(service[2], ordered_at=service[2].ordered_at + timedelta(microseconds=500))
    del service[3]
    service.append(replace(service[5], order_no="ORD-20990101-000001"))
    report = reconcile_order_records(legacy, service)
    assert report.differences == [
        Difference("ORD-20250101-000001", "different", ("status",)),
        Difference("ORD-20250101-000004", "missing_in_service"),
        Difference("ORD-20990101-000001", "missing_in_legacy"),
    ]  # a renamed product and fractions of a second are not differences
    assert not report.ok
    assert report.to_dict()["differences"][0] == {
        "order_no": "ORD-20250101-000001",
        "kind": "different",
        "fields": ["status"],
    }
