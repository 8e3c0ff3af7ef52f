"""Sync processes and commands: ``python -m acl.sync <command>``.

    relay                 monolith outbox -> transport (sql stream or Redis), forever
    consume               transport -> catalog (through its port), forever
    consume-orders        transport -> orders service (through its port), forever
    reverse               catalog's service_outbox -> monolith /internal/sync/apply, forever
    forward               transport -> a project's service's /internal/sync/apply (STRANGLER_SYNC_FORWARD_URL,
                          STRANGLER_SYNC_ORIGIN the service's origin), forever
    backfill catalog      copy every legacy product into the catalog (resumable; --restart)
    backfill orders       copy every legacy order into the orders service (resumable; --restart)
    reconcile catalog     compare both sides, and each side's stock changes against the other's
                          inbox (a loss both share shows); exit 1 on any difference
    reconcile orders      the same for orders (by order number)
    lag [--json]          sync lag and backlog per direction, measured now (and stored in sync_lag)
    dead-letters          reverse events the monolith refused for good (--retry EVENT_ID | --all)

The relays also store their direction's lag in the sync database's ``sync_lag`` table every second, and
so does the orders consumer (``forward:orders``: its share of the published stream not applied yet).

Settings come from the environment (acl.sync.settings). SIGTERM or SIGINT stops a worker after its batch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine

from acl.catalog.source import LegacyProductSource, read_only_engine
from acl.sync import dead_letters_command
from acl.sync.backfill import run_catalog_backfill
from acl.sync.backfill_command import run_backfill_command
from acl.sync.bootstrap import (
    catalog_consumer,
    catalog_port,
    forward_relay,
    legacy_references,
    measure_lag,
    orders_consumer,
    orders_port,
    reverse_relay,
    service_forward_consumer,
    sync_engine,
    transport,
)
from acl.sync.health import Heartbeat, serve_health
from acl.sync.history import check_history
from acl.sync.lag import DirectionLag, combine, relay_backlog, reverse_direction, store_lag
from acl.sync.orders_commands import backfill_orders, reconcile_orders
from acl.sync.reconcile import reconcile_catalog
from acl.sync.relay import RelayLocked
from acl.sync.settings import SyncSettings
from strangler_proxy.error_tracking import init_error_tracking
from strangler_proxy.json_logs import configure_json_logging
from strangler_proxy.telemetry import TracingConfig, tracer_provider

__all__ = ["main"]

log = logging.getLogger("acl.sync")

LAG_INTERVAL = 1.0
"""Seconds between the relays' updates of the ``sync_lag`` table."""
HOUSEKEEPING_INTERVAL = 60.0
STREAM_RETENTION = timedelta(hours=1)
"""Acknowledged events stay in the SQL stream this long (for inspection), then the relay prunes them."""


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _loop(step: Callable[[], int], stop: threading.Event, *, idle: float, health_port: int | None) -> None:
    """Call ``step`` until ``stop``; sleep ``idle`` when it found nothing; a failure is logged and retried."""
    heartbeat = Heartbeat()
    server = serve_health(health_port, heartbeat) if health_port else None
    try:
        while not stop.is_set():
            try:
                done = step()
            except Exception:
                log.exception("sync step failed; retrying in 1 s")
                stop.wait(1.0)
                continue
            heartbeat.beat()
            if not done:
                stop.wait(idle)
    finally:
        if server is not None:
            server.shutdown()


class _LagRecorder:
    """Wraps a relay step: every second, stores the direction's lag in ``sync_lag``; every minute, runs
    ``housekeeping`` (the forward relay prunes the stream of what every consumer has acknowledged)."""

    def __init__(
        self,
        step: Callable[[], int],
        measure: Callable[[], DirectionLag],
        engine: Engine,
        housekeeping: Callable[[], object] | None = None,
    ) -> None:
        self._step, self._measure, self._engine = step, measure, engine
        self._housekeeping = housekeeping
        self._next_lag = self._next_housekeeping = 0.0

    def __call__(self) -> int:
        done = self._step()
        now = time.monotonic()
        if now >= self._next_lag:
            self._next_lag = now + LAG_INTERVAL
            store_lag(self._engine, [self._measure()])
        if self._housekeeping is not None and now >= self._next_housekeeping:
            self._next_housekeeping = now + HOUSEKEEPING_INTERVAL
            self._housekeeping()
        return done


def _relay(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    engine = sync_engine(settings)
    try:
        with transport(settings, engine) as chosen, forward_relay(settings, chosen, engine) as relay:
            log.info("relay: monolith outbox -> %s stream %s", settings.transport, settings.stream)
            step = _LagRecorder(
                relay.run_once,
                lambda: combine("forward", relay_backlog(relay), chosen.backlog(settings.origin)),
                engine,
                housekeeping=lambda: chosen.prune(keep=STREAM_RETENTION),
            )
            _loop(step, stop, idle=settings.poll_interval, health_port=args.health_port)
    except RelayLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _consume(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    engine = sync_engine(settings)
    try:
        with transport(settings, engine) as chosen, catalog_port(settings) as port:
            consumer = catalog_consumer(settings, engine, chosen, port)
            log.info(
                "consumer %s: %s stream %s -> catalog", consumer.name, settings.transport, settings.stream
            )
            # receive() already waits for events, so no extra idle sleep.
            _loop(consumer.run_once, stop, idle=0.0, health_port=args.health_port)
    finally:
        engine.dispose()
    return 0


def _consume_orders(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
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
            direction = f"forward:{settings.orders_origin}"[:20]
            step = _LagRecorder(
                consumer.run_once, lambda: combine(direction, chosen.backlog(consumer.name)), engine
            )
            _loop(step, stop, idle=0.0, health_port=args.health_port)
    finally:
        engine.dispose()
    return 0


def _forward(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    engine = sync_engine(settings)
    try:
        with (
            transport(settings, engine) as chosen,
            service_forward_consumer(settings, engine, chosen) as consumer,
        ):
            log.info(
                "consumer %s: %s stream %s -> %s",
                consumer.name,
                settings.transport,
                settings.stream,
                settings.forward_url,
            )
            direction = f"forward:{settings.origin}"[:20]
            step = _LagRecorder(
                consumer.run_once, lambda: combine(direction, chosen.backlog(consumer.name)), engine
            )
            _loop(step, stop, idle=0.0, health_port=args.health_port)
    finally:
        engine.dispose()
    return 0


def _reverse(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = _stop_on_signals()
    engine = sync_engine(settings)
    try:
        with reverse_relay(settings, engine) as relay:
            log.info(
                "reverse relay: %s outbox -> %s/internal/sync/apply", settings.origin, settings.legacy_url
            )
            # The catalog's relay owns "reverse" (what the control plane drains); another service's relay
            # records its own row, so two reverse relays never overwrite each other's lag.
            direction = reverse_direction(settings.origin)
            step = _LagRecorder(relay.run_once, lambda: combine(direction, relay_backlog(relay)), engine)
            _loop(step, stop, idle=settings.poll_interval, health_port=args.health_port)
    except RelayLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _backfill(settings: SyncSettings, args: argparse.Namespace) -> int:
    if args.target == "orders":
        return backfill_orders(settings, args)
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


def _reconcile(settings: SyncSettings, args: argparse.Namespace) -> int:
    if args.target == "orders":
        return reconcile_orders(settings, args)
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


def _lag(settings: SyncSettings, args: argparse.Namespace) -> int:
    figures = measure_lag(settings)
    if args.json:
        print(json.dumps({figure.direction: figure.to_dict() for figure in figures}, indent=2))
    else:
        for figure in figures:
            dead = "" if figure.dead is None else f"   dead {figure.dead}"
            print(f"{figure.direction:8} lag {figure.lag_ms:10.1f} ms   backlog {figure.backlog}{dead}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m acl.sync", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("relay", "publish the monolith's outbox to the transport"),
        ("consume", "apply published legacy events to the catalog"),
        ("consume-orders", "apply published legacy order events to the orders service"),
        ("reverse", "apply the catalog's outbox to the monolith"),
        ("forward", "apply published legacy events to a project's service (its /internal/sync/apply)"),
    ):
        worker = commands.add_parser(name, help=helptext)
        worker.add_argument("--health-port", type=int, default=None, help="serve /healthz and /readyz here")
    backfill = commands.add_parser("backfill", help="copy legacy products or orders into a service")
    backfill.add_argument("target", choices=["catalog", "orders"])
    backfill.add_argument("--batch-size", type=int, default=1000)
    backfill.add_argument("--restart", action="store_true", help="ignore the checkpoint and start over")
    backfill.add_argument("--no-progress", action="store_true")
    backfill.add_argument("--max-pages", type=int, default=None, help="stop after N pages (resume later)")
    reconcile = commands.add_parser("reconcile", help="compare legacy and service data")
    reconcile.add_argument("target", choices=["catalog", "orders"])
    reconcile.add_argument("--json", action="store_true")
    reconcile.add_argument("--limit", type=int, default=50, help="differences listed (text output)")
    lag = commands.add_parser("lag", help="sync lag and backlog per direction")
    lag.add_argument("--json", action="store_true")
    dead_letters_command.register(commands)
    return parser


WORKERS = frozenset({"relay", "consume", "consume-orders", "reverse", "forward"})
"""The long-running commands (under ``strangler up``): their logs are JSON lines."""

COMMANDS = {
    "relay": _relay,
    "consume": _consume,
    "consume-orders": _consume_orders,
    "reverse": _reverse,
    "forward": _forward,
    "backfill": _backfill,
    "reconcile": _reconcile,
    "lag": _lag,
    "dead-letters": dead_letters_command.run,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in WORKERS:  # JSON lines, with the trace id of the events being relayed or applied
        configure_json_logging()
    else:  # a one-shot command, read by a person
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Sentry when SENTRY_DSN is set; the process's provider when the OTEL_* variables turn tracing on:
    # relayed events join the trace of the transaction that wrote them (acl.tracing)
    init_error_tracking(f"strangler-sync-{args.command}", os.environ)
    provider = tracer_provider(
        TracingConfig.from_environ(os.environ), f"strangler-sync-{args.command}", install=True
    )
    try:
        return COMMANDS[args.command](SyncSettings(), args)
    finally:
        if provider is not None:
            provider.shutdown()


if __name__ == "__main__":
    sys.exit(main())
