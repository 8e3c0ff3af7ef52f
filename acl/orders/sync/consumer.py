"""The orders consumer: legacy order events -> ACL translators -> the orders service's port, exactly once.

The batch loop is ``InboxConsumer``'s (its own inbox name, order kept per aggregate, echoes of its own
origin recorded and skipped). Applying a batch: resolve the customers and products the orders name
(one read of the monolith's tables), translate each payload, and hand the last state of each order to
``OrdersPort.apply_orders``. A payload that does not translate is ``rejected`` (logged, recorded,
acknowledged); a record the service's model refuses (``ValueError``) is rejected alone, the rest of
the batch applied, so one bad order never stalls the stream. Anything else (a database down) rewinds
the batch and is retried.

Events that carry the order's version (see ``acl.orders.versions``) go, when the port counts versions
(``apply_order_changes``), as one ``OrderChange`` per order: applied only when the service's version of
the order is the expected one, otherwise parked in its conflict queue (outcome ``conflict``), never
overwriting a change made on the service meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from acl.errors import LegacyDataError
from acl.orders.records import OrderRecord
from acl.orders.references import LegacyReferences, referenced_ids
from acl.orders.sync.changes import OrderChange
from acl.orders.sync.port import OrdersPort
from acl.orders.translators import order_from_legacy_payload
from acl.orders.versions import event_order_version
from acl.sync.core.events import SyncEvent
from acl.sync.core.inbox import Inbox, Outcome
from acl.sync.transports.base import Transport
from acl.sync.workers.consumer import InboxConsumer

__all__ = ["ORDER_EVENTS", "OrdersConsumer", "ReferenceResolver"]

log = logging.getLogger(__name__)

ORDER_EVENTS = frozenset({"order.placed", "order.status_changed", "order.updated"})


class ReferenceResolver(Protocol):
    def resolve(self, customer_ids: set[int], product_ids: set[int]) -> LegacyReferences:
        """The user id of each legacy customer and the SKU and name of each product that exist."""


class OrdersConsumer(InboxConsumer):
    def __init__(
        self,
        transport: Transport,
        inbox: Inbox,
        port: OrdersPort,
        references: ReferenceResolver,
        *,
        origin: str = "orders",
        batch_size: int = 200,
        wait: float = 0.2,
        hold_timeout: float = 1.0,
    ) -> None:
        super().__init__(
            transport, inbox, origin=origin, batch_size=batch_size, wait=wait, hold_timeout=hold_timeout
        )
        self._port = port
        self._references = references

    def _apply(self, events: Sequence[SyncEvent]) -> list[tuple[SyncEvent, Outcome]]:
        outcomes: dict[str, Outcome] = {}
        candidates: list[SyncEvent] = []
        for event in events:
            if event.origin == self.origin:
                outcomes[event.event_id] = "echo"
            elif event.aggregate_type != "order" or event.type not in ORDER_EVENTS:
                outcomes[event.event_id] = "ignored"
            else:
                candidates.append(event)
        latest: dict[str, tuple[SyncEvent, OrderRecord]] = {}
        superseded: dict[str, list[SyncEvent]] = {}
        versions: dict[str, tuple[int, int]] = {}  # order -> (first version of the batch, last)
        if candidates:
            references = self._references.resolve(*referenced_ids(event.payload for event in candidates))
            for event in candidates:
                try:
                    record = self._translate(event, references)
                    version = event_order_version(event.payload)
                except LegacyDataError as exc:
                    self._reject(event, exc)
                    outcomes[event.event_id] = "rejected"
                    continue
                # Events come in sequence order per order: the last state wins, and the earlier ones
                # share its outcome.
                if event.aggregate_id in latest:
                    superseded.setdefault(event.aggregate_id, []).append(latest[event.aggregate_id][0])
                latest[event.aggregate_id] = (event, record)
                if version is not None:
                    first, _ = versions.get(event.aggregate_id, (version, version))
                    versions[event.aggregate_id] = (min(first, version), version)
        versioned = getattr(self._port, "apply_order_changes", None)
        if versioned is None:
            versions = {}
        applied = self._apply_records([item for key, item in latest.items() if key not in versions])
        applied.update(
            self._apply_changes(
                versioned,
                [
                    OrderChange(event.event_id, event.origin, record, versions[key][0] - 1, versions[key][1])
                    for key, (event, record) in latest.items()
                    if key in versions
                ],
            )
        )
        for aggregate_id, (event, _) in latest.items():
            outcomes[event.event_id] = applied[event.event_id]
            for earlier in superseded.get(aggregate_id, ()):
                outcomes[earlier.event_id] = applied[event.event_id]
        return [(event, outcomes[event.event_id]) for event in events]

    @staticmethod
    def _translate(event: SyncEvent, references: LegacyReferences) -> OrderRecord:
        record = order_from_legacy_payload(event.payload, references)
        if str(event.payload["ord_id"]) != event.aggregate_id:
            raise LegacyDataError(
                "ord_id", event.payload["ord_id"], f"not the event's order {event.aggregate_id}"
            )
        return record

    def _apply_changes(self, apply: Any, changes: list[OrderChange]) -> dict[str, Outcome]:
        """Through the port's ``apply_order_changes``; when the service refuses one, one by one."""
        if not changes:
            return {}
        try:
            outcomes: dict[str, Outcome] = dict(apply(changes))
        except ValueError as exc:
            if len(changes) == 1:
                self._reject_change(changes[0], exc)
                return {changes[0].event_id: "rejected"}
            outcomes = {}
            for change in changes:
                try:
                    outcomes.update(apply([change]))
                except ValueError as one:
                    self._reject_change(change, one)
                    outcomes[change.event_id] = "rejected"
        for change in changes:
            if outcomes[change.event_id] == "applied":
                self.stats.applied += 1
            elif outcomes[change.event_id] == "conflict":
                log.warning(
                    "order %s: the change of event %s (version %d expected) was parked as a conflict",
                    change.record.order_no,
                    change.event_id,
                    change.expected_version,
                )
        return outcomes

    def _reject_change(self, change: OrderChange, error: Exception) -> None:
        log.error("event %s (order %s) rejected: %s", change.event_id, change.record.order_no, error)
        self.stats.rejected += 1

    def _apply_records(self, items: list[tuple[SyncEvent, OrderRecord]]) -> dict[str, Outcome]:
        """Apply all in one call; when the service refuses one, apply them one by one and reject it."""
        if not items:
            return {}
        try:
            self._port.apply_orders([record for _, record in items])
        except ValueError as exc:
            if len(items) == 1:
                self._reject(items[0][0], exc)
                return {items[0][0].event_id: "rejected"}
            outcomes: dict[str, Outcome] = {}
            for item in items:
                outcomes.update(self._apply_one(item))
            return outcomes
        self.stats.applied += len(items)
        return {event.event_id: "applied" for event, _ in items}

    def _apply_one(self, item: tuple[SyncEvent, OrderRecord]) -> dict[str, Outcome]:
        event, record = item
        try:
            self._port.apply_orders([record])
        except ValueError as exc:
            self._reject(event, exc)
            return {event.event_id: "rejected"}
        self.stats.applied += 1
        return {event.event_id: "applied"}

    def _reject(self, event: SyncEvent, error: Exception) -> None:
        log.error(
            "event %s (%s, order %s #%d) rejected: %s",
            event.event_id,
            event.type,
            event.aggregate_id,
            event.sequence,
            error,
        )
        self.stats.rejected += 1
