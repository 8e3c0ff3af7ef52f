"""``python -m acl.sync backfill orders`` and ``reconcile orders``: the orders service's one-shot commands
(the worker, ``consume-orders``, lives with the other workers in ``acl.sync.__main__``)."""

from __future__ import annotations

import argparse
import json

from acl.catalog.source import read_only_engine
from acl.orders.source import LegacyOrderSource
from acl.sync.backfill_command import run_backfill_command
from acl.sync.bootstrap import orders_port, sync_engine
from acl.sync.orders_backfill import run_orders_backfill
from acl.sync.orders_history import check_order_history
from acl.sync.orders_reconcile import reconcile_orders as reconcile
from acl.sync.settings import SyncSettings

__all__ = ["backfill_orders", "reconcile_orders"]


def backfill_orders(settings: SyncSettings, args: argparse.Namespace) -> int:
    return run_backfill_command(
        settings,
        args,
        target="orders",
        unit="orders",
        source=LegacyOrderSource,
        port=orders_port,
        run=run_orders_backfill,
        describe_rejected=lambda legacy_id: f"order {legacy_id}",
    )


def reconcile_orders(settings: SyncSettings, args: argparse.Namespace) -> int:
    """Both sides compared, and each side's order events against the other's record of them (a loss
    both sides share shows); exit 1 on any difference."""
    legacy = read_only_engine(settings.legacy_database_url)
    sync = sync_engine(settings)
    service = read_only_engine(settings.orders_database_url)
    try:
        with orders_port(settings) as port:
            report = reconcile(LegacyOrderSource(legacy), port)
        history = check_order_history(
            legacy, sync, service, consumer=settings.orders_origin, origin=settings.orders_origin
        )
    finally:
        legacy.dispose()
        sync.dispose()
        service.dispose()
    ok = report.ok and history.ok
    if args.json:
        print(json.dumps({**report.to_dict(), "history": history.to_dict(), "ok": ok}, indent=2))
    else:
        lines = report.text_lines(title="orders", service="orders service", noun="order", limit=args.limit)
        print("\n".join([*lines, *history.text_lines(limit=args.limit)]))
    return 0 if ok else 1
