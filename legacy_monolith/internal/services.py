"""Applying a reverse-sync event: idempotent by event id, in order per origin and aggregate.

An event (``legacy vocabulary``, as the ACL writes it)::

    {"event_id": "<uuid>", "origin": "catalog", "aggregate_type": "product", "aggregate_id": "17",
     "sequence": 4, "type": "product.updated", "payload": {"prd_id": 17, "stk_qty": 12, ...}}

``product.updated`` sets the given columns of an existing ``tbl_product`` row (``prd_nm``, ``prd_desc``,
``unit_prc``, ``stk_qty``, ``sts_cd``, ``cat_path``, ``upd_dt``); ``order.status_changed`` sets ``ord_sts``
of an existing order; ``order.placed`` (from the orders service, keyed by the order number) creates the
order and its lines without touching stock (see ``order_placed``). The change, its outbox event
(carrying the event's origin, so the relay does not send it back there) and the inbox row commit together.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from legacy_monolith.catalog.models import Category, Product
from legacy_monolith.internal.batch import Stream, SyncBatch
from legacy_monolith.internal.models import AppliedEvent, StockVersion, SyncConflict
from legacy_monolith.internal.order_placed import OrderExists, OrderPlacedError, order_placed_apply
from legacy_monolith.orders.models import Order
from legacy_monolith.outbox.services import (
    LEGACY_ORIGIN,
    order_event_record,
    outbox_event_record,
    product_snapshot,
    stock_version_next,
)

__all__ = ["ReverseEventError", "UnknownAggregate", "sync_batch_read", "sync_event_apply"]

_PRICE = re.compile(r"\d{1,15}\.\d{2}")
_ORIGIN = re.compile(r"[a-z][a-z0-9_-]{0,39}")
PRODUCT_COLUMNS = ("prd_nm", "prd_desc", "unit_prc", "stk_qty", "sts_cd", "cat_path", "upd_dt")


class ReverseEventError(ValueError):
    """The event is malformed; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownAggregate(LookupError):
    """The event names a product or order that does not exist here."""


def _require(data: dict[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(field)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ReverseEventError(field, f"{field} is missing or has the wrong type.")
    return value


def _product_changes(payload: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for column in PRODUCT_COLUMNS:
        if column not in payload:
            continue
        value = payload[column]
        if column in ("prd_nm", "prd_desc", "cat_path") and not isinstance(value, str):
            raise ReverseEventError(column, f"{column} must be text.")
        if column == "prd_nm" and not value.strip():
            raise ReverseEventError(column, "prd_nm must not be blank.")
        if column == "unit_prc" and not (isinstance(value, str) and _PRICE.fullmatch(value)):
            raise ReverseEventError(column, "unit_prc must be a price with two decimals like '19.90'.")
        if column == "stk_qty" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ReverseEventError(column, "stk_qty must be an integer >= 0.")
        if column == "sts_cd" and value not in (Product.STATUS_ACTIVE, Product.STATUS_DISCONTINUED):
            raise ReverseEventError(column, "sts_cd must be 'A' or 'D'.")
        if column == "upd_dt":
            try:
                value = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                value = None
            if value is None or value.tzinfo is not None:
                raise ReverseEventError(column, "upd_dt must be a naive local ISO 8601 time.")
        changes[column] = value
    if not changes:
        raise ReverseEventError("payload", "the payload changes no known column.")
    return changes


def _stock_change(payload: dict[str, Any]) -> tuple[int | None, int, int] | None:
    """(delta or None for a level, resulting level, version) of an event that carries ``stk_ver``."""
    if "stk_ver" not in payload:
        return None
    version, delta, level = payload.get("stk_ver"), payload.get("stk_delta"), payload.get("stk_qty")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ReverseEventError("stk_ver", "stk_ver must be an integer >= 1.")
    if delta is not None and (not isinstance(delta, int) or isinstance(delta, bool)):
        raise ReverseEventError("stk_delta", "stk_delta must be an integer or null.")
    if not isinstance(level, int) or isinstance(level, bool) or level < 0:
        raise ReverseEventError("stk_qty", "stk_qty must be an integer >= 0.")
    return delta, level, version


def _apply_product(
    *, prd_id: int, payload: dict[str, Any], origin: str, batch: SyncBatch, event_id: str = ""
) -> str:
    """Set the product's columns; its stock moves by ``stk_delta`` (exactly once: the inbox row commits
    with it), or is set to a level only when no other stock change came in between (``stk_ver``)."""
    stock = _stock_change(payload)
    columns = {key: value for key, value in payload.items() if not (stock and key == "stk_qty")}
    changes = _product_changes(columns) if set(columns) & set(PRODUCT_COLUMNS) else {}
    if not changes and stock is None:
        raise ReverseEventError("payload", "the payload changes no known column.")
    product = batch.product(prd_id)
    if product is None:
        raise UnknownAggregate(f"Product {prd_id} does not exist.")
    if "cat_path" in changes:
        category = Category.objects.filter(cat_path=changes["cat_path"]).first()
        if category is None:
            raise ReverseEventError("cat_path", f"unknown category {changes['cat_path']!r}.")
        product.ctg = category
    for column, value in changes.items():
        setattr(product, column, value)
    outcome, version = "applied", None
    if stock is not None:
        outcome, version = _apply_stock(product, stock, event_id=event_id, origin=origin)
        if outcome == "applied":
            changes["stk_qty"] = product.stk_qty
    if not changes:
        return outcome  # a parked level and nothing else: the row stays as it is
    # Only the changed columns are written, plus what Product.save derives: cat_path from the category.
    product.save(update_fields={*changes, "ctg", "cat_path"})
    only_stock = set(changes) <= {"stk_qty", "upd_dt"}
    snapshot_extra = {} if version is None else {"stk_delta": stock[0] if stock else None, "stk_ver": version}
    recorded = outbox_event_record(
        aggregate_type="product",
        aggregate_id=product.prd_id,
        event_type="product.stock_changed" if only_stock else "product.updated",
        payload={**product_snapshot(product=product), **snapshot_extra},
        origin=origin,
        sequence=batch.next_outbox_sequence(prd_id),
    )
    batch.outbox_recorded(prd_id, recorded.sequence)
    return outcome


def _apply_stock(
    product: Product, stock: tuple[int | None, int, int], *, event_id: str, origin: str
) -> tuple[str, int | None]:
    """Move (or set) the stock of the locked ``product``; ("applied", version) or ("conflict", None)."""
    delta, level, version = stock
    current = StockVersion.objects.filter(aggregate_id=str(product.prd_id)).values_list("version", flat=True)
    found = next(iter(current), 0)
    if delta is not None:
        if product.stk_qty + delta >= 0:
            product.stk_qty += delta
            _before, now = stock_version_next(prd_id=product.prd_id)
            return "applied", now
        reason = f"moving {product.stk_qty} by {delta} would go below zero"
    elif found == version - 1:
        product.stk_qty = level
        _before, now = stock_version_next(prd_id=product.prd_id)
        return "applied", now
    else:
        reason = "the level was set while this side changed the stock"
    SyncConflict.objects.create(
        event_id=event_id or str(uuid.uuid4()),
        origin=origin,
        aggregate_type="product",
        aggregate_id=str(product.prd_id),
        field="stk_qty",
        ours=json.dumps({"stk_qty": product.stk_qty}),
        theirs=json.dumps({"stk_qty": level, "stk_delta": delta, "reason": reason}),
        expected_version=version - 1,
        found_version=found,
        detected_at=datetime.now(UTC).replace(tzinfo=None),
    )
    return "conflict", None


def _apply_order(*, ord_id: int, payload: dict[str, Any], origin: str, batch: SyncBatch) -> None:
    status = payload.get("ord_sts")
    if status not in dict(Order.STATUS_CHOICES):
        raise ReverseEventError("ord_sts", "ord_sts must be one of N, P, S, C.")
    order = Order.objects.select_for_update().filter(pk=ord_id).first()
    if order is None:
        raise UnknownAggregate(f"Order {ord_id} does not exist.")
    order.ord_sts = status
    order.save(update_fields=["ord_sts"])
    order_event_record(order=order, event_type="order.status_changed", origin=origin)


def _apply_order_placed(*, ord_no: str, payload: dict[str, Any], origin: str, batch: SyncBatch) -> None:
    try:
        order = order_placed_apply(order_no=ord_no, payload=payload)
    except OrderPlacedError as exc:
        raise ReverseEventError(exc.field, str(exc)) from None
    order_event_record(order=order, event_type="order.placed", origin=origin)


_HANDLERS = {
    ("product", "product.updated"): _apply_product,
    ("order", "order.status_changed"): _apply_order,
    ("order", "order.placed"): _apply_order_placed,
}


@dataclass(frozen=True, slots=True)
class _Event:
    event_id: uuid.UUID
    origin: str
    aggregate_type: str
    event_type: str
    key: int | str  # the legacy id, or the order number of a placed order
    sequence: int
    payload: dict[str, Any]

    @property
    def placed(self) -> bool:
        return self.event_type == "order.placed"

    @property
    def stream(self) -> Stream:
        return (self.origin, self.aggregate_type, str(self.key))


def _parse(event: dict[str, Any]) -> _Event:
    try:
        event_id = uuid.UUID(str(_require(event, "event_id", str)))
    except ValueError:
        raise ReverseEventError("event_id", "event_id must be a UUID.") from None
    origin = _require(event, "origin", str)
    if not _ORIGIN.fullmatch(origin) or origin == LEGACY_ORIGIN:
        raise ReverseEventError("origin", "origin must be a service's tag (lowercase), not 'legacy'.")
    aggregate_type = _require(event, "aggregate_type", str)
    event_type = _require(event, "type", str)
    if (aggregate_type, event_type) not in _HANDLERS:
        raise ReverseEventError("type", f"unsupported event {aggregate_type}/{event_type}.")
    aggregate_id = _require(event, "aggregate_id", (str, int))
    # A placed order is known by its number (the service chose it); other aggregates by the legacy id.
    try:
        key: int | str = str(aggregate_id) if event_type == "order.placed" else int(aggregate_id)
    except ValueError:
        raise ReverseEventError("aggregate_id", "aggregate_id must be an integer id.") from None
    sequence = _require(event, "sequence", int)
    payload = _require(event, "payload", dict)
    return _Event(event_id, origin, aggregate_type, event_type, key, sequence, payload)


def sync_batch_read(events: Sequence[Any]) -> SyncBatch:
    """What ``events`` need from the database, in four queries; call inside the batch's transaction.

    Malformed events are left out here; ``sync_event_apply`` refuses them one by one.
    """
    parsed: list[_Event] = []
    for event in events:
        try:
            parsed.append(_parse(event))
        except ReverseEventError:
            continue
    return SyncBatch.read(
        event_ids=(event.event_id for event in parsed),
        streams=(event.stream for event in parsed),
        product_ids=(event.key for event in parsed if event.aggregate_type == "product"),
    )


def sync_event_apply(*, event: dict[str, Any], batch: SyncBatch | None = None) -> str:
    """Apply ``event`` once; return "applied", "duplicate" (seen before) or "stale" (older than applied).

    In a batch, pass what ``sync_batch_read`` read for it (inside the same transaction); alone, the
    event gets a transaction and a batch of its own.
    """
    if batch is None:
        with transaction.atomic():
            return sync_event_apply(event=event, batch=sync_batch_read([event]))
    parsed = _parse(event)
    if batch.is_recorded(parsed.event_id):
        return "duplicate"
    if parsed.placed and Order.objects.filter(ord_no=parsed.key).exists():
        return "duplicate"  # the same order under another event id: ord_no is unique
    try:
        outcome = _record_and_apply(parsed, batch)
    except OrderExists:
        return "duplicate"
    except IntegrityError:
        if AppliedEvent.objects.filter(event_id=parsed.event_id).exists():
            return "duplicate"
        if parsed.placed and Order.objects.filter(ord_no=str(parsed.key)).exists():
            return "duplicate"
        raise
    batch.record(parsed.event_id, parsed.stream, parsed.sequence, outcome)
    return outcome


def _record_and_apply(event: _Event, batch: SyncBatch) -> str:
    """The inbox row and the change, in a savepoint: a refused event leaves nothing behind."""
    try:
        with transaction.atomic():
            last = batch.last_applied(event.stream)
            outcome = "stale" if last is not None and event.sequence <= last else "applied"
            if event.payload.get("stk_delta") is not None:
                outcome = "applied"  # a move commutes: applied once (its id is recorded) whatever its order
            # The inbox row goes first: a concurrent redelivery fails on its key before changing anything.
            AppliedEvent.objects.create(
                event_id=event.event_id,
                origin=event.origin,
                aggregate_type=event.aggregate_type,
                aggregate_id=str(event.key),
                sequence=event.sequence,
                event_type=event.event_type,
                outcome=outcome,
                applied_at=datetime.now(UTC).replace(tzinfo=None),
            )
            if outcome == "applied":
                handler = _HANDLERS[(event.aggregate_type, event.event_type)]
                if event.placed:
                    handler(ord_no=event.key, payload=event.payload, origin=event.origin, batch=batch)
                elif event.aggregate_type == "product":
                    outcome = _apply_product(
                        prd_id=int(event.key),
                        payload=event.payload,
                        origin=event.origin,
                        batch=batch,
                        event_id=str(event.event_id),
                    )
                    if outcome != "applied":
                        AppliedEvent.objects.filter(event_id=event.event_id).update(outcome=outcome)
                else:
                    handler(ord_id=event.key, payload=event.payload, origin=event.origin, batch=batch)
    except BaseException:
        if event.aggregate_type == "product":
            batch.forget_product(int(event.key))  # the rolled-back change may be on the cached row
        raise
    return outcome
