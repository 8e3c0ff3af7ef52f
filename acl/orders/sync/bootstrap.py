"""The orders pipeline's wiring: its port (loaded by name), the legacy references and its consumer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from acl.orders.references import LegacyReferenceReader
from acl.orders.sync.consumer import OrdersConsumer
from acl.orders.sync.port import OrdersPort
from acl.orders.sync.settings import OrdersSyncSettings
from acl.sync.core.engines import read_only_engine
from acl.sync.core.inbox import Inbox
from acl.sync.core.ports import load_port_factory
from acl.sync.settings import SyncSettings
from acl.sync.transports.base import Transport

__all__ = ["legacy_references", "orders_consumer", "orders_port"]


@contextmanager
def orders_port(settings: SyncSettings) -> Iterator[OrdersPort]:
    port = load_port_factory(OrdersSyncSettings().port_factory)()
    try:
        yield port
    finally:
        port.close()


@contextmanager
def legacy_references(settings: SyncSettings) -> Iterator[LegacyReferenceReader]:
    """Customers and products of legacy orders, read from the monolith's database (read-only)."""
    engine = read_only_engine(settings.legacy_database_url)
    try:
        yield LegacyReferenceReader(engine)
    finally:
        engine.dispose()


def orders_consumer(
    settings: SyncSettings,
    engine: Engine,
    source: Transport,
    port: OrdersPort,
    references: LegacyReferenceReader,
) -> OrdersConsumer:
    """The inbox, the offset and (on Redis) the consumer group are named after the orders origin."""
    origin = OrdersSyncSettings().origin
    return OrdersConsumer(
        source,
        Inbox(engine, origin),
        port,
        references,
        origin=origin,
        batch_size=settings.batch_size,
        wait=0.2,
    )
