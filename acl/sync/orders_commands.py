"""``python -m acl.sync backfill orders`` and ``reconcile orders``: the orders service's one-shot commands
(the worker, ``consume-orders``, lives with the other workers in ``acl.sync.__main__``)."""

from __future__ import annotations

import argparse
import json

from acl.catalog.source import read_only_engine
from acl.orders.source import LegacyOrderSource
from acl.sync.backfill import CheckpointStore
from acl.sync.backfill_output import backfill_progress, print_backfill_summary
from acl.sync.bootstrap import orders_port, sync_engine
from acl.sync.orders_backfill import run_orders_backfill
from acl.sync.orders_reconcile import reconcile_orders as reconcile
from acl.sync.settings import SyncSettings

__all__ = ["backfill_orders", "reconcile_orders"]


def backfill_orders(settings: SyncSettings, args: argparse.Namespace) -> int:
    engine = sync_engine(settings)
    legacy = read_only_engine(settings.legacy_database_url)
    source = LegacyOrderSource(legacy)
    try:
        with (
            orders_port(settings) as port,
            backfill_progress("orders", "orders", source.count(), disable=args.no_progress) as done,
        ):
            report = run_orders_backfill(
                source,
                port,
                CheckpointStore(engine),
                batch_size=args.batch_size,
                restart=args.restart,
                on_page=lambda page: done(page.read),
                max_pages=args.max_pages,
            )
    finally:
        legacy.dispose()
        engine.dispose()
    print_backfill_summary("orders", report, describe_rejected=lambda legacy_id: f"order {legacy_id}")
    return 0 if report.ok else 1


def reconcile_orders(settings: SyncSettings, args: argparse.Namespace) -> int:
    legacy = read_only_engine(settings.legacy_database_url)
    try:
        with orders_port(settings) as port:
            report = reconcile(LegacyOrderSource(legacy), port)
    finally:
        legacy.dispose()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(
            "\n".join(
                report.text_lines(title="orders", service="orders service", noun="order", limit=args.limit)
            )
        )
    return 0 if report.ok else 1
