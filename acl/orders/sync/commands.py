"""The orders pipeline's commands: ``python -m acl.sync consume-orders``, ``backfill orders`` and
``reconcile orders``."""

from __future__ import annotations

import argparse
import json
import logging

from acl.orders.source import LegacyOrderSource
from acl.orders.sync.backfill import run_orders_backfill
from acl.orders.sync.bootstrap import legacy_references, orders_consumer, orders_port
from acl.orders.sync.history import check_order_history
from acl.orders.sync.reconcile import reconcile_orders as reconcile
from acl.orders.sync.settings import OrdersSyncSettings
from acl.sync.bootstrap import sync_engine, transport
from acl.sync.commands.backfill import run_backfill_command
from acl.sync.core.engines import read_only_engine
from acl.sync.core.lag import combine
from acl.sync.settings import SyncSettings
from acl.sync.workers.loop import LagRecorder, run_loop, stop_on_signals

__all__ = ["backfill_orders", "consume_orders", "reconcile_orders"]

log = logging.getLogger("acl.sync")


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
    own = OrdersSyncSettings()
    legacy = read_only_engine(settings.legacy_database_url)
    sync = sync_engine(settings)
    service = read_only_engine(own.database_url(settings.home))
    try:
        with orders_port(settings) as port:
            report = reconcile(LegacyOrderSource(legacy), port)
        history = check_order_history(legacy, sync, service, consumer=own.origin, origin=own.origin)
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


def consume_orders(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    engine = sync_engine(settings)
    try:
        with (
            transport(settings, engine) as chosen,
            legacy_references(settings) as references,
            orders_port(settings) as port,
        ):
            consumer = orders_consumer(settings, engine, chosen, port, references)
            log.info(
                "consumer %s: %s stream %s -> orders", consumer.name, settings.transport, settings.stream
            )
            # Its own lag row: what it has not applied yet of the published stream (the relay's
            # unpublished part is in "forward", which measures the catalog consumer).
            direction = f"forward:{OrdersSyncSettings().origin}"[:20]
            step = LagRecorder(
                consumer.run_once, lambda: combine(direction, chosen.backlog(consumer.name)), engine
            )
            run_loop(step, stop, idle=0.0, health_port=args.health_port)
    finally:
        engine.dispose()
    return 0
