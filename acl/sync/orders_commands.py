"""``python -m acl.sync backfill orders`` and ``reconcile orders``: the orders service's one-shot commands
(the worker, ``consume-orders``, lives with the other workers in ``acl.sync.__main__``)."""

from __future__ import annotations

import argparse
import json
import sys

from acl.catalog.source import read_only_engine
from acl.orders.source import LegacyOrderSource
from acl.sync.backfill import CheckpointStore
from acl.sync.bootstrap import orders_port, sync_engine
from acl.sync.orders_backfill import run_orders_backfill
from acl.sync.orders_reconcile import reconcile_orders as reconcile
from acl.sync.settings import SyncSettings

__all__ = ["backfill_orders", "reconcile_orders"]


def backfill_orders(settings: SyncSettings, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    engine = sync_engine(settings)
    legacy = read_only_engine(settings.legacy_database_url)
    source = LegacyOrderSource(legacy)
    try:
        with (
            orders_port(settings) as port,
            Progress(
                TextColumn("backfill orders"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                disable=args.no_progress,
                transient=False,
            ) as progress,
        ):
            task = progress.add_task("orders", total=source.count())
            report = run_orders_backfill(
                source,
                port,
                CheckpointStore(engine),
                batch_size=args.batch_size,
                restart=args.restart,
                on_page=lambda report: progress.update(task, completed=report.read),
                max_pages=args.max_pages,
            )
    finally:
        legacy.dispose()
        engine.dispose()
    print(
        f"backfill orders: read {report.read}, written {report.written}, rejected {len(report.rejected)}, "
        f"last id {report.last_id}, {'complete' if report.complete else 'interrupted'}"
    )
    for rejected in report.rejected:
        print(f"  rejected order {rejected.legacy_id}: {rejected.error}", file=sys.stderr)
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
