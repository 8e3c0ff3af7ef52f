"""Reverse sync of ``product.updated`` (from the catalog service) onto ``tbl_product``.

``product.updated`` sets the given columns of an existing row (``prd_nm``, ``prd_desc``, ``unit_prc``,
``stk_qty``, ``sts_cd``, ``cat_path``, ``upd_dt``) and records the product's outbox event with the
event's origin. A batch locks its products first (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
IMMEDIATE transaction holds the write lock), as every writer of a product's outbox events locks the row
first, and reads their last outbox sequences once.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from legacy_monolith.catalog.events import product_event_record
from legacy_monolith.catalog.models import Category, Product
from strangler_django.appliers import Applier, ReverseEvent, ReverseEventError, UnknownAggregate
from strangler_django.outbox import last_outbox_sequences

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

    def apply(self, event: ReverseEvent) -> None:
        prd_id = int(event.key)  # type: ignore[call-overload]
        changes = _product_changes(event.payload)
        product = self._product(prd_id)
        if product is None:
            raise UnknownAggregate(f"Product {prd_id} does not exist.")
        if "cat_path" in changes:
            category = Category.objects.filter(cat_path=changes["cat_path"]).first()
            if category is None:
                raise ReverseEventError("cat_path", f"unknown category {changes['cat_path']!r}.")
            product.ctg = category
        for column, value in changes.items():
            setattr(product, column, value)
        # Only the changed columns are written, plus what Product.save derives: cat_path from the category.
        product.save(update_fields={*changes, "ctg", "cat_path"})
        only_stock = set(changes) <= {"stk_qty", "upd_dt"}
        last = self._outbox_last.get(prd_id)
        recorded = product_event_record(
            product=product,
            event_type="product.stock_changed" if only_stock else "product.updated",
            origin=event.origin,
            sequence=None if last is None else last + 1,
        )
        self._outbox_last[prd_id] = recorded.sequence

    def discard(self, event: ReverseEvent) -> None:
        """Read the product again next time (the rolled-back savepoint may have left it changed here)."""
        prd_id = int(event.key)  # type: ignore[call-overload]
        self._products.pop(prd_id, None)
        self._outbox_last.pop(prd_id, None)
