"""Sync end to end on PostgreSQL (monolith, catalog and sync tables) with Redis Streams as the transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sync.harness import SEED_PRODUCTS, SyncStack, eventually, running_sync_stack

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def stack(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[SyncStack]:
    with running_sync_stack(
        tmp_path,
        legacy_database_url=postgres_url,
        catalog_database_url=postgres_url,
        sync_database_url=postgres_url,
        redis_url=redis_url,
    ) as running:
        yield running


def test_both_directions_over_redis_on_postgres(stack: SyncStack) -> None:
    from sqlalchemy import text

    from acl.catalog.sync.reverse import record_product_change
    from acl.sync.service.outbox import create_service_outbox
    from new_services.catalog.adapters.sync_port import CatalogSyncPort

    stack.sync("backfill", "catalog", "--batch-size", "40", "--max-pages", "2", "--no-progress")
    resumed = stack.sync("backfill", "catalog", "--batch-size", "40", "--no-progress")
    assert f"written {SEED_PRODUCTS - 80}" in resumed.stdout
    stack.start("relay")
    stack.start("consume")
    stack.start("reverse")

    for quantity in (5, 6):
        stack.set_stock(3, quantity)
    eventually(lambda: stack.catalog_stock(3) == 6, what="stock 6 in the catalog")

    port = CatalogSyncPort(stack.engine("catalog"))
    record = next(item for item in port.product_records() if item.id == 4)
    changed = type(record)(**{**{name: getattr(record, name) for name in record.__slots__}, "stock": 41})
    with stack.engine("catalog").begin() as connection:
        create_service_outbox(connection)
        connection.execute(text("UPDATE catalog_products SET stock = 41 WHERE id = 4"))
        record_product_change(connection, record=changed, origin="catalog", columns=("stk_qty",))
    eventually(lambda: stack.legacy_product(4)["stock"] == 41, what="stock 41 on the monolith")
    eventually(
        lambda: stack.scalar("sync", "SELECT count(*) FROM sync_inbox WHERE outcome = 'echo'") == 1,
        what="the echo dropped by the consumer",
    )

    # A consumer restarted after a crash gets its unacknowledged entries again; the inbox drops them.
    stack.stop("consume")
    stack.set_stock(3, 9)
    stack.start("consume")
    eventually(lambda: stack.catalog_stock(3) == 9, what="stock 9 after the consumer restarted")

    lag = json.loads(stack.sync("lag", "--json").stdout)
    assert lag["forward"]["backlog"] == 0 and lag["reverse"]["backlog"] == 0
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["ok"] and report["legacy_count"] == SEED_PRODUCTS


def test_redelivered_redis_entries_are_applied_once(stack: SyncStack) -> None:
    import redis

    stack.sync("backfill", "catalog", "--no-progress")
    stack.start("relay")
    stack.start("consume")
    stack.set_stock(8, 2)
    eventually(lambda: stack.catalog_stock(8) == 2, what="stock 2 in the catalog")
    stack.execute("catalog", "UPDATE catalog_products SET stock = 500 WHERE id = 8")

    # Deliver every entry again: the same event ids under new stream entries.
    client = redis.Redis.from_url(stack.env["STRANGLER_SYNC_REDIS_URL"])
    try:
        stream = stack.env["STRANGLER_SYNC_STREAM"]
        entries = client.xrange(stream)
        for _, fields in entries:
            client.xadd(stream, fields)
        total = 2 * len(entries)
        eventually(
            lambda: (
                client.xinfo_groups(stream)[0]["pending"] == 0
                and client.xinfo_groups(stream)[0]["entries-read"] == total
            ),
            what="the duplicates consumed",
        )
    finally:
        client.close()
    assert stack.catalog_stock(8) == 500
    assert stack.scalar("sync", "SELECT count(*) FROM sync_inbox WHERE outcome = 'applied'") == 1
