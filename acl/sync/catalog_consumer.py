"""The catalog consumer: legacy product events -> ACL translators -> the catalog's port, exactly once.

The batch loop is ``InboxConsumer``'s; applying a batch hands the last state of each product in it to
``CatalogPort.apply_products``. A payload that does not translate is ``rejected`` (logged, recorded,
acknowledged).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_from_legacy_row
from acl.errors import LegacyDataError
from acl.sync.consumer import InboxConsumer
from acl.sync.events import SyncEvent
from acl.sync.inbox import Inbox, Outcome
from acl.sync.ports import CatalogPort
from acl.sync.transports.base import Transport

__all__ = ["PRODUCT_EVENTS", "CatalogConsumer"]

log = logging.getLogger(__name__)

PRODUCT_EVENTS = frozenset({"product.created", "product.updated", "product.stock_changed"})


class CatalogConsumer(InboxConsumer):
    def __init__(
        self,
        transport: Transport,
        inbox: Inbox,
        port: CatalogPort,
        *,
        origin: str = "catalog",
        batch_size: int = 200,
        wait: float = 0.2,
        hold_timeout: float = 1.0,
    ) -> None:
        super().__init__(
            transport, inbox, origin=origin, batch_size=batch_size, wait=wait, hold_timeout=hold_timeout
        )
        self._port = port

    def _apply(self, events: Sequence[SyncEvent]) -> list[tuple[SyncEvent, Outcome]]:
        outcomes: list[tuple[SyncEvent, Outcome]] = []
        latest: dict[int, ProductRecord] = {}
        for event in events:
            if event.origin == self.origin:
                outcomes.append((event, "echo"))
            elif event.aggregate_type != "product" or event.type not in PRODUCT_EVENTS:
                outcomes.append((event, "ignored"))
            else:
                try:
                    record = product_from_legacy_row(event.payload)
                except LegacyDataError as exc:
                    log.error("event %s rejected: %s", event.event_id, exc)
                    self.stats.rejected += 1
                    outcomes.append((event, "rejected"))
                    continue
                latest[record.id] = record  # events come in sequence order: the last state wins
                outcomes.append((event, "applied"))
        if latest:
            self._port.apply_products(list(latest.values()))
            self.stats.applied += len(latest)
        return outcomes
