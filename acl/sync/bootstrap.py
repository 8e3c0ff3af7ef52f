"""Composition root of the sync processes: settings in, wired relays and consumers out.

A pipeline's own consumer and port are wired beside it, in the pipeline's package."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from acl.sync.core.engines import is_postgres, make_engine
from acl.sync.core.inbox import Inbox
from acl.sync.core.lag import DirectionLag, combine, relay_backlog, store_lag
from acl.sync.core.tables import outbox_event, service_outbox, sync_metadata
from acl.sync.service.outbox import create_service_outbox
from acl.sync.settings import SyncSettings
from acl.sync.transports.base import Transport
from acl.sync.transports.redis_stream import RedisStreamTransport
from acl.sync.transports.sql_stream import SqlStreamTransport
from acl.sync.workers.forward_consumer import ServiceForwardConsumer
from acl.sync.workers.internal_client import MonolithInternalClient
from acl.sync.workers.relay import OutboxRelay, RelayCursor, RelayLock
from acl.sync.workers.traced import traced_publish

__all__ = [
    "create_sync_schema",
    "forward_relay",
    "measure_lag",
    "reverse_relay",
    "service_forward_consumer",
    "sync_engine",
    "transport",
]

log = logging.getLogger(__name__)

FORWARD_CURSOR = "relay:legacy"


def sync_engine(settings: SyncSettings) -> Engine:
    engine = make_engine(settings.sync_database_url)
    create_sync_schema(engine)
    return engine


def create_sync_schema(engine: Engine, *, attempts: int = 5) -> None:
    """Create the sync tables if missing; two processes starting together may race, so retry."""
    for attempt in range(1, attempts + 1):
        try:
            sync_metadata.create_all(engine, checkfirst=True)
            return
        except DBAPIError:
            if attempt == attempts:
                raise
            time.sleep(0.2 * attempt)


@contextmanager
def transport(settings: SyncSettings, engine: Engine) -> Iterator[Transport]:
    chosen: Transport
    if settings.transport == "redis":
        chosen = RedisStreamTransport.from_url(settings.redis_url, settings.stream)
    else:
        chosen = SqlStreamTransport(engine, settings.stream, poll_interval=settings.poll_interval)
    try:
        yield chosen
    finally:
        chosen.close()


def _cursor(source: Engine, sync: Engine, name: str) -> RelayCursor | None:
    return None if is_postgres(source) else RelayCursor(sync, name)


@contextmanager
def forward_relay(settings: SyncSettings, publish_to: Transport, sync: Engine) -> Iterator[OutboxRelay]:
    """The monolith's outbox -> ``publish_to``; on SQLite this holds the single-relay lock."""
    engine = make_engine(settings.legacy_database_url)
    lock = RelayLock.for_engine(engine, "relay")
    if lock is not None:
        lock.acquire()
    try:
        yield OutboxRelay(
            engine,
            outbox_event,
            traced_publish(publish_to.publish),
            batch_size=settings.batch_size,
            poll_interval=settings.poll_interval,
            cursor=_cursor(engine, sync, FORWARD_CURSOR),
        )
    finally:
        if lock is not None:
            lock.release()
        engine.dispose()


@contextmanager
def reverse_relay(settings: SyncSettings, sync: Engine) -> Iterator[OutboxRelay]:
    """The service's outbox -> the monolith's /internal/sync/apply."""
    engine = make_engine(settings.service_database_url)
    with engine.begin() as connection:
        create_service_outbox(connection)
    lock = RelayLock.for_engine(engine, "reverse-relay")
    if lock is not None:
        lock.acquire()
    client = MonolithInternalClient(settings.legacy_url, settings.internal_token())
    try:
        yield OutboxRelay(
            engine,
            service_outbox,
            client.apply_events,
            batch_size=settings.batch_size,
            poll_interval=settings.poll_interval,
            cursor=_cursor(engine, sync, f"reverse:{settings.origin}"),
        )
    finally:
        client.close()
        if lock is not None:
            lock.release()
        engine.dispose()


@contextmanager
def service_forward_consumer(
    settings: SyncSettings, engine: Engine, source: Transport
) -> Iterator[ServiceForwardConsumer]:
    """The generic forward consumer of ``settings.origin``'s service, posting to ``settings.forward_url``
    with the internal token; its inbox, offset and (on Redis) consumer group are ``forward-<origin>``."""
    if not settings.forward_url:
        raise RuntimeError("no service to forward to: set STRANGLER_SYNC_FORWARD_URL")
    client = MonolithInternalClient(settings.forward_url, settings.internal_token())
    try:
        yield ServiceForwardConsumer(
            source,
            Inbox(engine, settings.forward_consumer),
            client,
            origin=settings.origin,
            batch_size=settings.batch_size,
            wait=0.2,
        )
    finally:
        client.close()


def measure_lag(settings: SyncSettings) -> list[DirectionLag]:
    """Forward (with ``settings.origin``'s consumer's backlog) and its reverse direction, stored in
    ``sync_lag`` as well, each under its own row (``settings.reverse_direction``)."""
    engine = sync_engine(settings)
    legacy = make_engine(settings.legacy_database_url)
    service = make_engine(settings.service_database_url)
    try:
        with transport(settings, engine) as chosen:
            forward = combine(
                "forward",
                relay_backlog(
                    OutboxRelay(
                        legacy, outbox_event, chosen.publish, cursor=_cursor(legacy, engine, FORWARD_CURSOR)
                    )
                ),
                chosen.backlog(settings.origin),
            )
        with service.begin() as connection:
            create_service_outbox(connection)
        reverse_cursor = _cursor(service, engine, f"reverse:{settings.origin}")
        reverse = combine(
            settings.reverse_direction,
            relay_backlog(OutboxRelay(service, service_outbox, _refuse, cursor=reverse_cursor)),
        )
        figures = [forward, reverse]
        store_lag(engine, figures)
        return figures
    finally:
        engine.dispose()
        legacy.dispose()
        service.dispose()


def _refuse(events: object) -> None:
    raise RuntimeError("measuring only")
