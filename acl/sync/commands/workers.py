"""The generic workers of ``python -m acl.sync``: ``relay`` (the monolith's outbox -> the transport),
``reverse`` (a service's outbox -> the monolith) and ``forward`` (the transport -> a project's service)."""

from __future__ import annotations

import argparse
import logging
import sys

from acl.sync.bootstrap import forward_relay, reverse_relay, service_forward_consumer, sync_engine, transport
from acl.sync.core.lag import combine, relay_backlog
from acl.sync.settings import SyncSettings
from acl.sync.transports.base import Backlog, Transport
from acl.sync.workers.loop import STREAM_RETENTION, LagRecorder, run_loop, stop_on_signals
from acl.sync.workers.relay import RelayLocked

__all__ = ["consumer_backlog", "forward", "relay", "reverse"]

log = logging.getLogger("acl.sync")


def consumer_backlog(settings: SyncSettings, chosen: Transport) -> list[Backlog]:
    """What the origin's consumer has not acknowledged yet: part of "forward" (none without an origin)."""
    return [] if settings.origin_value is None else [chosen.backlog(settings.origin_value)]


def relay(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    engine = sync_engine(settings)
    try:
        with transport(settings, engine) as chosen, forward_relay(settings, chosen, engine) as relay:
            log.info("relay: monolith outbox -> %s stream %s", settings.transport, settings.stream)
            step = LagRecorder(
                relay.run_once,
                lambda: combine("forward", relay_backlog(relay), *consumer_backlog(settings, chosen)),
                engine,
                housekeeping=lambda: chosen.prune(keep=STREAM_RETENTION),
            )
            run_loop(step, stop, idle=settings.poll_interval, health_port=args.health_port)
    except RelayLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def forward(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = stop_on_signals()
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
            step = LagRecorder(
                consumer.run_once, lambda: combine(direction, chosen.backlog(consumer.name)), engine
            )
            run_loop(step, stop, idle=0.0, health_port=args.health_port)
    finally:
        engine.dispose()
    return 0


def reverse(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    engine = sync_engine(settings)
    try:
        with reverse_relay(settings, engine) as relay:
            log.info(
                "reverse relay: %s outbox -> %s/internal/sync/apply", settings.origin, settings.legacy_url
            )
            # Each service's relay records its own row: two reverse relays never overwrite each other's lag.
            direction = settings.reverse_direction
            step = LagRecorder(relay.run_once, lambda: combine(direction, relay_backlog(relay)), engine)
            run_loop(step, stop, idle=settings.poll_interval, health_port=args.health_port)
    except RelayLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0
