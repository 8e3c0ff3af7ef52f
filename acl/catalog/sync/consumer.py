"""The catalog consumer: legacy product events -> ACL translators -> the catalog's port, exactly once.

The batch loop is ``InboxConsumer``'s; applying a batch hands the last state of each product in it to
``CatalogPort.apply_products``. A payload that does not translate is ``rejected`` (logged, recorded,
acknowledged).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from acl.catalog.records import ProductRecord
from acl.catalog.sync.fields import FieldChange, field_change_from_payload
from acl.catalog.sync.port import CatalogPort
from acl.catalog.translators import STOCK_LEVEL_FIELD, product_from_legacy_row
from acl.errors import LegacyDataError
from acl.sync.core.events import SyncEvent
from acl.sync.core.inbox import Inbox, Outcome
from acl.sync.core.stock import StockChange, stock_change_from_payload
from acl.sync.transports.base import Transport
from acl.sync.workers.consumer import InboxConsumer

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
        """A product's other columns as its last state in the batch (its stock kept when the catalog has
        the product already), or, when the event carries a fields version, as a checked change
        (``acl.catalog.sync.fields``); its stock changes one by one, each exactly once
        (``acl.sync.core.stock``)."""
        outcomes: list[tuple[SyncEvent, Outcome]] = []
        latest: dict[int, ProductRecord] = {}
        created: set[int] = set()
        changes: list[tuple[int, StockChange]] = []
        edits: list[tuple[int, FieldChange]] = []
        rows: dict[int, ProductRecord] = {}
        for event in events:
            if event.origin == self.origin:
                outcomes.append((event, "echo"))
            elif event.aggregate_type != "product" or event.type not in PRODUCT_EVENTS:
                outcomes.append((event, "ignored"))
            else:
                try:
                    record = product_from_legacy_row(event.payload)
                    change = stock_change_from_payload(
                        event.event_id, event.origin, record.id, event.payload, level_field=STOCK_LEVEL_FIELD
                    )
                    edit = field_change_from_payload(event.event_id, event.origin, record.id, event.payload)
                except (LegacyDataError, ValueError) as exc:
                    log.error("event %s rejected: %s", event.event_id, exc)
                    self.stats.rejected += 1
                    outcomes.append((event, "rejected"))
                    continue
                if event.type == "product.created" or (
                    event.type == "product.stock_changed" and change is None
                ):
                    created.add(record.id)  # a new product, or a stock level without a change (older events)
                if (event.type != "product.stock_changed" or change is None) and (
                    edit is None or event.type == "product.created"
                ):
                    # events come in sequence order: the last state wins (for events without versions)
                    latest[record.id] = record
                if edit is not None:  # a versioned change of the other fields: checked, never copied
                    edits.append((len(outcomes), edit))
                    rows[record.id] = record
                if change is not None:
                    changes.append((len(outcomes), change))
                    rows[record.id] = record
                outcomes.append((event, "applied"))
        if latest:
            # a product new to the catalog comes with its stock; one it has keeps its own stock (a
            # product.updated carries the monolith's level, not a change: applying it would overwrite
            # the catalog's writes not yet synced)
            fresh = [record for pid, record in latest.items() if pid in created]
            known = [record for pid, record in latest.items() if pid not in created]
            if fresh:
                self._port.apply_products(fresh)
            if known:
                self._port.apply_products(known, keep_stock=True)
            self.stats.applied += len(latest)
        if changes:
            results = self._port.apply_stock_changes([change for _, change in changes], rows=rows)
            for (index, _change), result in zip(changes, results, strict=True):
                outcomes[index] = (outcomes[index][0], "applied" if result == "duplicate" else result)
        if edits:
            results = self._port.apply_field_changes([edit for _, edit in edits], rows=rows)
            for (index, _edit), result in zip(edits, results, strict=True):
                if outcomes[index][1] != "conflict":  # a stock conflict in the same event stays visible
                    outcomes[index] = (outcomes[index][0], "applied" if result == "duplicate" else result)
        return outcomes
