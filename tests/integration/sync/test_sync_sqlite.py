"""Sync end to end on SQLite files: the real monolith (gunicorn) and the real sync processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sync.harness import SEED_PRODUCTS, SyncStack, eventually, running_sync_stack

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SyncStack]:
    with running_sync_stack(tmp_path) as running:
        yield running


def test_backfill_resumes_after_interruption_and_reconcile_lists_divergence(stack: SyncStack) -> None:
    first = stack.sync("backfill", "catalog", "--batch-size", "50", "--max-pages", "1", "--no-progress")
    assert "written 50" in first.stdout and "interrupted" in first.stdout
    assert stack.scalar("catalog", "SELECT count(*) FROM catalog_products") == 50
    assert stack.sync("reconcile", "catalog", check=False).returncode == 1

    second = stack.sync("backfill", "catalog", "--batch-size", "50", "--no-progress")
    assert f"written {SEED_PRODUCTS - 50}" in second.stdout and "complete" in second.stdout
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["legacy_count"] == report["service_count"] == SEED_PRODUCTS

    # a finished backfill starts over when run again, and changes nothing (idempotent)
    again = stack.sync("backfill", "catalog", "--no-progress")
    assert f"written {SEED_PRODUCTS}" in again.stdout
    assert stack.scalar("catalog", "SELECT count(*) FROM catalog_products") == SEED_PRODUCTS

    # a deliberate divergence is listed, product by product
    stack.execute("catalog", "UPDATE catalog_products SET stock = stock + 7 WHERE id = 5")
    stack.execute("catalog", "DELETE FROM catalog_products WHERE id = 9")
    result = stack.sync("reconcile", "catalog", "--json", check=False)
    assert result.returncode == 1
    differences = {item["id"]: item for item in json.loads(result.stdout)["differences"]}
    assert differences == {
        5: {"id": 5, "kind": "different", "fields": ["stock"]},
        9: {"id": 9, "kind": "missing_in_service", "fields": []},
    }
    text_report = stack.sync("reconcile", "catalog", check=False).stdout
    assert "product 5: different (stock)" in text_report and "product 9: missing_in_service" in text_report


def test_writes_on_the_monolith_reach_the_catalog_once_and_in_order(stack: SyncStack) -> None:
    stack.sync("backfill", "catalog", "--no-progress")
    stack.start("relay")
    stack.start("consume")
    for quantity in (3, 4, 11):
        stack.set_stock(7, quantity)
    eventually(lambda: stack.catalog_stock(7) == 11, what="stock 11 in the catalog")
    assert stack.sync("reconcile", "catalog", check=False).returncode == 0
    lag = json.loads(stack.sync("lag", "--json").stdout)
    assert lag["forward"]["backlog"] == 0 and lag["forward"]["lag_ms"] == 0
    # the relay keeps the sync_lag table current for readers such as the control plane
    stack.execute("sync", "UPDATE sync_lag SET backlog = -1")
    eventually(
        lambda: stack.scalar("sync", "SELECT backlog FROM sync_lag WHERE direction = 'forward'") == 0,
        what="the relay's own lag figure",
    )

    # Redelivery: rewind the consumer to the start of the stream. Nothing is applied twice, so a
    # change made on the catalog side meanwhile is not overwritten by old events.
    stack.execute("catalog", "UPDATE catalog_products SET stock = 999 WHERE id = 7")
    last = stack.scalar("sync", "SELECT max(position) FROM sync_stream")
    stack.execute("sync", "UPDATE sync_offsets SET position = 0 WHERE consumer = 'catalog'")
    eventually(
        lambda: stack.scalar("sync", "SELECT position FROM sync_offsets WHERE consumer = 'catalog'") == last,
        what="consumer caught up",
    )
    assert stack.catalog_stock(7) == 999
    outcomes = stack.scalar("sync", "SELECT count(*) FROM sync_inbox WHERE outcome = 'applied'")
    assert outcomes == 3


def test_catalog_writes_reach_the_monolith_without_echo(stack: SyncStack) -> None:
    from sqlalchemy import text

    from acl.catalog.sync.reverse import record_product_change
    from acl.sync.service.outbox import create_service_outbox
    from new_services.catalog.adapters.sync_port import CatalogSyncPort

    stack.sync("backfill", "catalog", "--no-progress")
    stack.start("relay")
    stack.start("consume")
    stack.start("reverse")

    # The catalog changes a product and records the change in its outbox, in one transaction.
    port = CatalogSyncPort(stack.engine("catalog"))
    record = next(item for item in port.product_records() if item.id == 12)
    changed = type(record)(**{**{name: getattr(record, name) for name in record.__slots__}, "stock": 77})
    with stack.engine("catalog").begin() as connection:
        create_service_outbox(connection)
        connection.execute(text("UPDATE catalog_products SET stock = 77 WHERE id = 12"))
        event_id = record_product_change(connection, record=changed, origin="catalog", columns=("stk_qty",))

    eventually(lambda: stack.legacy_product(12)["stock"] == 77, what="stock 77 on the monolith")
    # The monolith's outbox event carries the catalog's origin, and the consumer drops it as an echo.
    assert stack.scalar("legacy", "SELECT origin FROM outbox_event ORDER BY id DESC LIMIT 1") == "catalog"
    eventually(
        lambda: stack.scalar("sync", "SELECT count(*) FROM sync_inbox WHERE outcome = 'echo'") == 1,
        what="the echo recorded by the consumer",
    )
    assert stack.scalar("legacy", "SELECT count(*) FROM internal_applied_event") == 1
    eventually(
        lambda: json.loads(stack.sync("lag", "--json").stdout)["reverse"]["backlog"] == 0,
        what="reverse backlog drained",
    )
    assert event_id
    assert stack.sync("reconcile", "catalog", check=False).returncode == 0
