"""Reverse sync of orders: ``order.status_changed`` sets ``ord_sts``; ``order.placed`` (from the orders
service, keyed by the order number it chose) creates the order and its lines without touching stock
(see ``legacy_monolith.orders.placed``).

A status change that carries the order's version (``ord_ver``) is applied only when the order's version
here is one behind it: when the order changed here meanwhile (shipped here while cancelled there), the
change is parked in ``sync_conflict`` with both statuses and the order keeps its own
(``strangler_django.versions``)."""

from __future__ import annotations

from collections.abc import Hashable

from legacy_monolith.orders.events import order_event_record
from legacy_monolith.orders.models import Order
from legacy_monolith.orders.placed import OrderExists, OrderPlacedError, order_placed_apply
from strangler_django.appliers import (
    AlreadyApplied,
    Applier,
    ReverseEvent,
    ReverseEventError,
    UnknownAggregate,
)
from strangler_django.versions import event_version, expect_version

__all__ = ["OrderApplier"]


class OrderApplier(Applier):
    """``order.status_changed`` (by legacy id) and ``order.placed`` (by order number)."""

    aggregate_type = "order"
    event_types = frozenset({"order.status_changed", "order.placed"})

    def parse_key(self, event_type: str, aggregate_id: str | int) -> Hashable:
        if event_type == "order.placed":
            return str(aggregate_id)
        try:
            return int(aggregate_id)
        except ValueError:
            raise ReverseEventError("aggregate_id", "aggregate_id must be an integer id.") from None

    def already_applied(self, event: ReverseEvent) -> bool:
        """The same placed order under another event id: ``ord_no`` is unique."""
        return event.event_type == "order.placed" and Order.objects.filter(ord_no=str(event.key)).exists()

    def apply(self, event: ReverseEvent) -> str | None:
        if event.event_type == "order.placed":
            try:
                order = order_placed_apply(order_no=str(event.key), payload=event.payload)
            except OrderPlacedError as exc:
                raise ReverseEventError(exc.field, str(exc)) from None
            except OrderExists:
                raise AlreadyApplied(str(event.key)) from None
            order_event_record(order=order, event_type="order.placed", origin=event.origin)
            return None
        status = event.payload.get("ord_sts")
        if status not in dict(Order.STATUS_CHOICES):
            raise ReverseEventError("ord_sts", "ord_sts must be one of N, P, S, C.")
        version = event_version(event.payload, "ord_ver")
        order = Order.objects.select_for_update().filter(pk=event.key).first()
        if order is None:
            raise UnknownAggregate(f"Order {event.key} does not exist.")
        if version is not None and not expect_version(
            event, version, aggregate_id=order.ord_id, field="ord_sts", ours=order.ord_sts, theirs=status
        ):
            return "conflict"
        order.ord_sts = status
        order.save(update_fields=["ord_sts"])
        order_event_record(order=order, event_type="order.status_changed", origin=event.origin)
        return None
