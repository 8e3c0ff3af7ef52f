"""The catalog pipeline's commands: ``python -m acl.sync consume``, ``backfill catalog`` and
``reconcile catalog``."""

from __future__ import annotations

import argparse
import json
import logging

from acl.catalog.source import LegacyProductSource
from acl.catalog.sync.backfill import run_catalog_backfill
from acl.catalog.sync.bootstrap import catalog_consumer, catalog_port
from acl.catalog.sync.history import check_history
from acl.catalog.sync.reconcile import reconcile_catalog
from acl.sync.bootstrap import sync_engine, transport
from acl.sync.commands.backfill import run_backfill_command
from acl.sync.core.engines import read_only_engine
from acl.sync.settings import SyncSettings
from acl.sync.workers.loop import run_loop, stop_on_signals

__all__ = ["backfill", "consume", "reconcile"]

log = logging.getLogger("acl.sync")


def consume(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    engine = sync_engine(settings)
    try:
        with transport(settings, engine) as chosen, catalog_port(settings) as port:
            consumer = catalog_consumer(settings, engine, chosen, port)
            log.info(
                "consumer %s: %s stream %s -> catalog", consumer.name, settings.transport, settings.stream
            )
            # receive() already waits for events, so no extra idle sleep.
            run_loop(consumer.run_once, stop, idle=0.0, health_port=args.health_port)
    finally:
        engine.dispose()
    return 0


def backfill(settings: SyncSettings, args: argparse.Namespace) -> int:
    return run_backfill_command(
        settings,
        args,
        target="catalog",
        unit="products",
        source=LegacyProductSource,
        port=catalog_port,
        run=run_catalog_backfill,
        describe_rejected=lambda legacy_id: f"prd_id={legacy_id}",
    )


def reconcile(settings: SyncSettings, args: argparse.Namespace) -> int:
    legacy = read_only_engine(settings.legacy_database_url)
    service = read_only_engine(settings.service_database_url)
    try:
        with catalog_port(settings) as port:
            report = reconcile_catalog(LegacyProductSource(legacy), port)
        history = check_history(legacy, service, origin="catalog")
    finally:
        legacy.dispose()
        service.dispose()
    if args.json:
        print(
            json.dumps(
                {**report.to_dict(), "history": history.to_dict(), "ok": report.ok and history.ok}, indent=2
            )
        )
    else:
        lines = report.text_lines(title="catalog", service="catalog", noun="product", limit=args.limit)
        print("\n".join([*lines, *history.text_lines("catalog")]))
    return 0 if report.ok and history.ok else 1
