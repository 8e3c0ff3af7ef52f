"""Reverse sync of ``product.updated`` (from the catalog service) onto ``tbl_product``.

``product.updated`` sets the given columns of an existing row (``prd_nm``, ``prd_desc``, ``unit_prc``,
``stk_qty``, ``sts_cd``, ``cat_path``, ``upd_dt``) and records the product's outbox event with the
event's origin. A batch locks its products first (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
IMMEDIATE transaction holds the write lock), as every writer of a product's outbox events locks the row
first, and reads their last outbox sequences once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from legacy_monolith.catalog.events import (
    FIELD_COLUMNS,
    fields_event_record,
    product_event_record,
    stock_event_record,
    stock_version_next,
)
from legacy_monolith.catalog.models import Category, Product
from strangler_django.appliers import (
    Applier,
    NotApplied,
    ReverseEvent,
    ReverseEventError,
    UnknownAggregate,
)
from strangler_django.models import AggregateVersion, StockVersion, SyncConflict
from strangler_django.outbox import last_outbox_sequences, utc_now

__all__ = ["ProductApplier"]

_PRICE = re.compile(r"\d{1,15}\.\d{2}")
CHANGEABLE = ("prd_nm", "prd_desc", "unit_prc", "stk_qty", "sts_cd", "cat_path", "upd_dt")


def _integer_id(aggregate_id: str | int) -> int:
    try:
        return int(aggregate_id)
    except ValueError:
        raise ReverseEventError("aggregate_id", "aggregate_id must be an integer id.") from None


def _product_changes(payload: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for column in CHANGEABLE:
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
    if payload.get("stk_ver") is None:
        return None
    version, delta, level = payload.get("stk_ver"), payload.get("stk_delta"), payload.get("stk_qty")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ReverseEventError("stk_ver", "stk_ver must be an integer >= 1.")
    if delta is not None and (not isinstance(delta, int) or isinstance(delta, bool)):
        raise ReverseEventError("stk_delta", "stk_delta must be an integer or null.")
    if not isinstance(level, int) or isinstance(level, bool) or level < 0:
        raise ReverseEventError("stk_qty", "stk_qty must be an integer >= 0.")
    return delta, level, version


def _expected(event: ReverseEvent, found: int, what: str, product: Product) -> None:
    """A forced change is a compare-and-set when it names the version it expects (``sync_expect_version``):
    NotApplied ("changed": nothing applied, nothing recorded) when this side holds another."""
    expected = event.payload.get("sync_expect_version")
    if expected is None:
        return
    if not isinstance(expected, int) or isinstance(expected, bool) or expected < 0:
        raise ReverseEventError("sync_expect_version", "sync_expect_version must be an integer >= 0.")
    if found != expected:
        raise NotApplied(
            "changed",
            f"product {product.prd_id}'s {what} version is {found}, the resolution expects {expected}",
        )


def _apply_stock(
    product: Product, stock: tuple[int | None, int, int], *, event: ReverseEvent
) -> tuple[str | None, int | None]:
    """Move (or set) the locked product's stock: (None, the version now), or ("conflict", None) when the
    change was parked in ``sync_conflict`` with both values."""
    delta, level, version = stock
    if delta is None and event.payload.get("sync_force") is True:
        # an operator's resolution: the level, and its version taken, if the stock is still as it was read
        held = StockVersion.objects.filter(aggregate_id=str(product.prd_id)).values_list("version", flat=True)
        _expected(event, next(iter(held), 0), "stock", product)
        product.stk_qty = level
        StockVersion.objects.update_or_create(aggregate_id=str(product.prd_id), defaults={"version": version})
        return None, version
    found = StockVersion.objects.filter(aggregate_id=str(product.prd_id)).values_list("version", flat=True)
    current = next(iter(found), 0)
    if delta is not None:
        if product.stk_qty + delta >= 0:
            product.stk_qty += delta
            return None, stock_version_next(prd_id=product.prd_id)
        reason = f"moving {product.stk_qty} by {delta} would go below zero"
    elif current == version - 1:
        product.stk_qty = level
        return None, stock_version_next(prd_id=product.prd_id)
    else:
        reason = "the level was set while this side changed the stock"
    SyncConflict.objects.create(
        event_id=str(event.event_id),
        origin=event.origin,
        aggregate_type="product",
        aggregate_id=str(product.prd_id),
        field="stk_qty",
        ours=json.dumps({"stk_qty": product.stk_qty}),
        theirs=json.dumps({"stk_qty": level, "stk_delta": delta, "reason": reason}),
        expected_version=version - 1,
        found_version=current,
        detected_at=utc_now(),
    )
    return "conflict", None


def _fields_change(payload: dict[str, Any]) -> tuple[int, list[str], bool] | None:
    """(version, changed columns, forced) of an event that carries ``prd_ver``: a versioned change of the
    product's other fields (its stock has a version of its own)."""
    if payload.get("prd_ver") is None:
        return None
    version, changed = payload.get("prd_ver"), payload.get("prd_changed")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ReverseEventError("prd_ver", "prd_ver must be an integer >= 1.")
    if not isinstance(changed, list) or not set(changed) <= set(FIELD_COLUMNS):
        raise ReverseEventError("prd_changed", f"prd_changed must list columns of {FIELD_COLUMNS}.")
    if any(column not in payload for column in changed):
        raise ReverseEventError("prd_changed", "prd_changed names a column the payload does not carry.")
    return version, list(changed), payload.get("sync_force") is True


def _check_fields(
    product: Product, fields: tuple[int, list[str], bool], changes: dict[str, Any], *, event: ReverseEvent
) -> bool:
    """True when the locked product's fields may take the change (this side is one behind, never
    counted one, or the change is an operator's resolution): its version is then the change's. Else the
    change is parked in ``sync_conflict`` with both values of its columns, and False."""
    version, changed, forced = fields
    row = (
        AggregateVersion.objects.select_for_update()
        .filter(aggregate_type="product", aggregate_id=str(product.prd_id))
        .first()
    )
    if forced:  # an operator's resolution, if the fields are still as it read them
        _expected(event, 0 if row is None else row.version, "fields", product)
    if forced or row is None or row.version == version - 1:
        AggregateVersion.objects.update_or_create(
            aggregate_type="product", aggregate_id=str(product.prd_id), defaults={"version": version}
        )
        return True
    reason = f"changed here meanwhile (version {row.version}, the change expects {version - 1})"
    SyncConflict.objects.create(
        event_id=str(event.event_id),
        origin=event.origin,
        aggregate_type="product",
        aggregate_id=str(product.prd_id),
        field="fields",
        ours=json.dumps({column: getattr(product, column) for column in changed}),
        theirs=json.dumps({**{c: changes[c] for c in changed}, "prd_ver": version, "reason": reason}),
        expected_version=version - 1,
        found_version=row.version,
        detected_at=utc_now(),
    )
    return False


class ProductApplier(Applier):
    """``product.updated``; the batch's product rows and outbox sequences are read once, locked."""

    aggregate_type = "product"
    event_types = frozenset({"product.updated"})

    def __init__(self) -> None:
        self._products: dict[int, Product | None] = {}
        self._outbox_last: dict[int, int] = {}

    def parse_key(self, event_type: str, aggregate_id: str | int) -> Hashable:
        return _integer_id(aggregate_id)

    def prepare(self, events: Sequence[ReverseEvent]) -> None:
        wanted = {int(event.key) for event in events}  # type: ignore[call-overload]
        self._products.update(dict.fromkeys(wanted))
        locked = Product.objects.select_for_update(of=("self",)).select_related("ctg")
        self._products.update((product.pk, product) for product in locked.filter(pk__in=wanted))
        found = sorted(prd_id for prd_id, product in self._products.items() if product is not None)
        last = last_outbox_sequences("product", [str(prd_id) for prd_id in found])
        self._outbox_last.update({prd_id: last.get(str(prd_id), 0) for prd_id in found})

    def _product(self, prd_id: int) -> Product | None:
        if prd_id not in self._products:
            query = Product.objects.select_for_update(of=("self",)).select_related("ctg")
            self._products[prd_id] = query.filter(pk=prd_id).first()
        return self._products[prd_id]

    def apply(self, event: ReverseEvent) -> str | None:
        """Set the product's columns; its stock moves by ``stk_delta`` (exactly once: the inbox row commits
        with it), or is set to a level only when no other stock change came in between (``stk_ver``);
        "conflict" when the change was parked instead."""
        prd_id = int(event.key)  # type: ignore[call-overload]
        stock = _stock_change(event.payload)
        fields = _fields_change(event.payload)
        columns = {key: value for key, value in event.payload.items() if not (stock and key == "stk_qty")}
        if fields is not None:  # the changed columns only (the payload may carry the whole row)
            kept = {*fields[1], "upd_dt"}
            columns = {key: value for key, value in columns.items() if key in kept or key not in CHANGEABLE}
        changes = _product_changes(columns) if set(columns) & set(CHANGEABLE) else {}
        if not changes and stock is None and fields is None:
            raise ReverseEventError("payload", "the payload changes no known column.")
        product = self._product(prd_id)
        if product is None:
            raise UnknownAggregate(f"Product {prd_id} does not exist.")
        outcome = None
        if fields is not None and not _check_fields(product, fields, changes, event=event):
            outcome = "conflict"  # parked: none of its columns (nor its time) are written
            changes = {k: v for k, v in changes.items() if k not in fields[1] and k != "upd_dt"}
            fields = None
        if "cat_path" in changes:
            category = Category.objects.filter(cat_path=changes["cat_path"]).first()
            if category is None:
                raise ReverseEventError("cat_path", f"unknown category {changes['cat_path']!r}.")
            product.ctg = category
        if (
            stock is not None
            and "upd_dt" in changes
            and product.upd_dt
            and changes["upd_dt"] < product.upd_dt
        ):
            changes["upd_dt"] = product.upd_dt  # changes cross in flight: the row keeps its latest time
        for column, value in changes.items():
            setattr(product, column, value)
        version = None
        if stock is not None:
            parked, version = _apply_stock(product, stock, event=event)
            outcome = outcome or parked
            if parked is None:
                changes["stk_qty"] = product.stk_qty
        if not changes:
            return outcome  # a parked level and nothing else: the row stays as it is
        # Only the changed columns are written, plus what Product.save derives: cat_path from the category.
        product.save(update_fields={*changes, "ctg", "cat_path"})
        only_stock = set(changes) <= {"stk_qty", "upd_dt"}
        last = self._outbox_last.get(prd_id)
        event_type = "product.stock_changed" if only_stock else "product.updated"
        sequence = None if last is None else last + 1
        if fields is not None and stock is None:
            recorded = fields_event_record(
                product=product,
                changed=fields[1],
                origin=event.origin,
                sequence=sequence,
                version=fields[0],
                force=fields[2],
            )
        elif version is None:
            recorded = product_event_record(
                product=product, event_type=event_type, origin=event.origin, sequence=sequence
            )
        else:
            recorded = stock_event_record(
                product=product,
                delta=stock[0] if stock else None,
                origin=event.origin,
                sequence=sequence,
                event_type=event_type,
                version=version,
            )
        self._outbox_last[prd_id] = recorded.sequence
        return outcome

    def discard(self, event: ReverseEvent) -> None:
        """Read the product again next time (the rolled-back savepoint may have left it changed here)."""
        prd_id = int(event.key)  # type: ignore[call-overload]
        self._products.pop(prd_id, None)
        self._outbox_last.pop(prd_id, None)
