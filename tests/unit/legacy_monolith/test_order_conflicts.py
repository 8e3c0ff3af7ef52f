"""Order status changes from the orders service carry the order's version (``ord_ver``): the monolith
applies one only when its own version of the order is one behind, and parks it in ``sync_conflict``
with both statuses when the order changed here meanwhile, never overwriting that change."""

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from legacy_monolith.catalog.models import Product
from legacy_monolith.orders.events import order_event_record
from legacy_monolith.orders.models import Order
from legacy_monolith.orders.services import order_place
from strangler_django.models import AppliedEvent, OutboxEvent, SyncConflict
from strangler_django.versions import aggregate_version
from tests.unit.legacy_monolith.factories import make_customer, make_product

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

JSON = "application/json"


def _apply(client, order: Order, status: str, version: int, sequence: int) -> str:
    event = {
        "event_id": str(uuid.uuid4()),
        "origin": "orders",
        "aggregate_type": "order",
        "aggregate_id": order.ord_id,
        "sequence": sequence,
        "type": "order.status_changed",
        "payload": {"ord_sts": status, "ord_ver": version},
    }
    response = client.post(
        "/internal/sync/apply",
        event,
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {settings.INTERNAL_TOKEN}",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def _placed() -> Order:
    product: Product = make_product(stock=5)
    return order_place(customer=make_customer(), quantities={product.prd_id: 1})


def _status_changed_here(order: Order, status: str) -> None:
    """A change made on the monolith (as its admin does): the row and its event in one transaction."""
    with transaction.atomic():
        order.ord_sts = status
        order.save(update_fields=["ord_sts"])
        order_event_record(order=order, event_type="order.status_changed")


def test_every_order_event_carries_the_version_its_change_made() -> None:
    order = _placed()
    _status_changed_here(order, "S")
    events = OutboxEvent.objects.filter(aggregate_type="order").order_by("sequence")
    assert [event.payload["ord_ver"] for event in events] == [1, 2]
    assert aggregate_version("order", order.ord_id) == 2


def test_sequential_changes_from_the_service_apply(client) -> None:
    order = _placed()  # version 1 on both sides
    assert _apply(client, order, "P", version=2, sequence=1) == "applied"
    assert _apply(client, order, "S", version=3, sequence=2) == "applied"
    assert Order.objects.get().ord_sts == "S"
    assert aggregate_version("order", order.ord_id) == 3
    last = OutboxEvent.objects.filter(aggregate_type="order").order_by("-sequence").first()
    assert (last.origin, last.payload["ord_ver"]) == ("orders", 3)
    assert not SyncConflict.objects.exists()


def test_a_cancel_crossing_a_shipment_made_here_is_parked_with_both_statuses(client) -> None:
    order = _placed()
    _status_changed_here(order, "S")  # shipped on the monolith: version 2 here
    events_before = OutboxEvent.objects.count()
    # Cancelled on the orders service from version 1 meanwhile: its change made version 2 there.
    assert _apply(client, order, "C", version=2, sequence=1) == "conflict"
    assert Order.objects.get().ord_sts == "S"  # never overwritten
    assert aggregate_version("order", order.ord_id) == 2
    assert OutboxEvent.objects.count() == events_before  # nothing changed, nothing to sync back
    conflict = SyncConflict.objects.get()
    assert (conflict.aggregate_type, conflict.aggregate_id, conflict.field, conflict.origin) == (
        "order",
        str(order.ord_id),
        "ord_sts",
        "orders",
    )
    assert json.loads(conflict.ours) == {"ord_sts": "S"}
    assert json.loads(conflict.theirs)["ord_sts"] == "C"
    assert (conflict.expected_version, conflict.found_version, conflict.resolved_at) == (1, 2, None)
    assert AppliedEvent.objects.get().outcome == "conflict"


def test_a_change_without_a_version_still_applies_as_before(client) -> None:
    order = _placed()
    _status_changed_here(order, "S")
    event = {
        "event_id": str(uuid.uuid4()),
        "origin": "orders",
        "aggregate_type": "order",
        "aggregate_id": order.ord_id,
        "sequence": 1,
        "type": "order.status_changed",
        "payload": {"ord_sts": "C"},
    }
    response = client.post(
        "/internal/sync/apply",
        event,
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {settings.INTERNAL_TOKEN}",
    )
    assert response.json()["outcome"] == "applied" and Order.objects.get().ord_sts == "C"
