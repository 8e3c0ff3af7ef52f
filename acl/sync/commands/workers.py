"""The generic workers of ``python -m acl.sync``: ``relay`` (the monolith's outbox -> the transport),
``reverse`` (a service's outbox -> the monolith) and ``forward`` (the transport -> a project's service)."""

from __future__ import annotations

import argparse
import logging
import sys

from acl.sync.bootstrap import forward_relay, reverse_relay, service_forward_consumer, sync_engine, transport
from acl.sync.core.lag import combine, relay_backlog, reverse_direction
from acl.sync.settings import SyncSettings
from acl.sync.workers.loop import STREAM_RETENTION, LagRecorder, run_loop, stop_on_signals
from acl.sync.workers.relay import RelayLocked

__all__ = ["forward", "relay", "reverse"]

log = logging.getLogger("acl.sync")


def relay(settings: SyncSettings, args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    engine = sync_engine(settings)
    try:
        with transport(settings, engine) as chosen, forward_relay(settings, chosen, engine) as relay:
            log.info("relay: monolith outbox -> %s stream %s", settings.transport, settings.stream)
            step = LagRecorder(
                relay.run_once,
                lambda: combine("forward", relay_backlog(relay), chosen.backlog(settings.origin)),
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
            # The catalog's relay owns "reverse" (what the control plane drains); another service's relay
            # records its own row, so two reverse relays never overwrite each other's lag.
            direction = reverse_direction(settings.origin)
            step = LagRecorder(relay.run_once, lambda: combine(direction, relay_backlog(relay)), engine)
            run_loop(step, stop, idle=settings.poll_interval, health_port=args.health_port)
    except RelayLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0
