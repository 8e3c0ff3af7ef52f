"""The catalog pipeline's wiring: its port (loaded by name) and its consumer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from acl.catalog.sync.consumer import CatalogConsumer
from acl.catalog.sync.port import CatalogPort
from acl.catalog.sync.settings import CatalogSyncSettings
from acl.sync.core.inbox import Inbox
from acl.sync.core.ports import load_port_factory
from acl.sync.settings import SyncSettings
from acl.sync.transports.base import Transport

__all__ = ["catalog_consumer", "catalog_port"]


@contextmanager
def catalog_port(settings: SyncSettings) -> Iterator[CatalogPort]:
    port = load_port_factory(CatalogSyncSettings().port_factory)()
    try:
        yield port
    finally:
        port.close()


def catalog_consumer(
    settings: SyncSettings, engine: Engine, source: Transport, port: CatalogPort
) -> CatalogConsumer:
    return CatalogConsumer(
        source,
        Inbox(engine, settings.origin),
        port,
        origin=settings.origin,
        batch_size=settings.batch_size,
        wait=0.2,
    )
