"""Fakes for sync unit tests: an in-memory catalog port and transport, events built in one line."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from acl.catalog.field_changes import record_values
from acl.catalog.records import ProductRecord
from acl.catalog.sync.fields import FieldChange
from acl.sync.core.events import SyncEvent
from acl.sync.core.stock import StockChange
from acl.sync.transports.base import Backlog, Delivery
from tests.unit.acl.legacy_db import legacy_row

__all__ = ["FakePort", "FakeTransport", "product_event"]

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def product_event(prd_id: int, sequence: int, *, origin: str = "legacy", **columns: object) -> SyncEvent:
    row = legacy_row(prd_id, **columns)
    payload = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}
    return SyncEvent(
        event_id=str(uuid.uuid4()),
        aggregate_type="product",
        aggregate_id=str(prd_id),
        sequence=sequence,
        type="product.stock_changed",
        payload=payload,
        occurred_at=T0 + timedelta(seconds=sequence),
        origin=origin,
    )


class FakePort:
    def __init__(self) -> None:
        self.products: dict[int, ProductRecord] = {}
        self.calls: list[list[int]] = []
        self.applied: set[str] = set()

    def apply_products(self, records: Sequence[ProductRecord], *, keep_stock: bool = False) -> int:
        self.calls.append([record.id for record in records])
        for record in records:
            held = self.products.get(record.id)
            if keep_stock and held is not None:
                record = dataclasses.replace(record, stock=held.stock)
            self.products[record.id] = record
        return len(records)

    def apply_stock_changes(
        self, changes: Sequence[StockChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Moves added once per event id, levels set (no versions kept here: the real port's are tested
        on its database)."""
        outcomes = []
        for change in changes:
            held = self.products.get(change.product_id) or (rows or {}).get(change.product_id)
            if change.event_id in self.applied or held is None:
                outcomes.append("duplicate" if held is not None else "unknown")
                continue
            level = held.stock + change.delta if change.delta is not None else change.level
            self.products[change.product_id] = dataclasses.replace(held, stock=level)
            self.applied.add(change.event_id)
            outcomes.append("applied")
        return outcomes

    def apply_field_changes(
        self, changes: Sequence[FieldChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Values set once per event id (no versions kept here: the real port's are tested on its
        database)."""
        outcomes = []
        for change in changes:
            held = self.products.get(change.product_id) or (rows or {}).get(change.product_id)
            if change.event_id in self.applied or held is None:
                outcomes.append("duplicate" if held is not None else "unknown")
                continue
            self.products[change.product_id] = dataclasses.replace(held, **record_values(change.values))
            self.applied.add(change.event_id)
            outcomes.append("applied")
        return outcomes

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied

    def fields_version(self, product_id: int) -> int:
        return 0

    def stock_state(self, product_id: int) -> tuple[int, int] | None:
        held = self.products.get(product_id)
        return None if held is None else (held.stock, 0)

    def resolve_stock(
        self,
        product_id: int,
        level: int,
        *,
        version: int,
        event_id: str,
        updated: str,
        expect_version: int | None = None,
    ) -> str:
        held = self.products.get(product_id)
        if held is None:
            return "unknown"
        self.products[product_id] = dataclasses.replace(held, stock=level)
        return "applied"

    def product_record(self, product_id: int) -> ProductRecord | None:
        return self.products.get(product_id)

    def product_records(self, *, batch_size: int = 1000) -> Iterator[ProductRecord]:
        yield from (self.products[key] for key in sorted(self.products))

    def count_products(self) -> int:
        return len(self.products)

    def close(self) -> None:
        pass


class FakeTransport:
    """Everything published is delivered once per ``receive`` call that asks; acks are recorded."""

    def __init__(self) -> None:
        self.queue: list[Delivery] = []
        self.acked: list[str] = []
        self.rewound = 0
        self._counter = 0

    def publish(self, events: Sequence[SyncEvent]) -> None:
        for event in events:
            self._counter += 1
            self.queue.append(Delivery(event, str(self._counter)))

    def receive(self, consumer: str, *, limit: int, wait: float) -> list[Delivery]:
        batch, self.queue = self.queue[:limit], self.queue[limit:]
        return batch

    def ack(self, consumer: str, deliveries: Sequence[Delivery]) -> None:
        self.acked.extend(delivery.token for delivery in deliveries)

    def rewind(self, consumer: str) -> None:
        self.rewound += 1

    def backlog(self, consumer: str) -> Backlog:
        return Backlog(len(self.queue), None)

    def close(self) -> None:
        pass
