"""A product's name, description and price change as versioned changes (``prd_ver``): made here through
``PATCH /api/products/<id>``, they carry the version they made; from the catalog service, the monolith
applies one only when its own count is one behind, and parks it in ``sync_conflict`` with both values when
the product's fields changed here meanwhile, never overwriting that change. A stock move never conflicts
with a rename: its version is the stock's own."""

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings

from legacy_monolith.catalog.models import Product
from strangler_django.models import AppliedEvent, OutboxEvent, SyncConflict
from strangler_django.versions import aggregate_version
from tests.unit.legacy_monolith.factories import make_product, make_staff

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

JSON = "application/json"


def _apply(client, product: Product, columns: dict[str, str], version: int, **extra: object) -> str:
    event = {
        "event_id": str(uuid.uuid4()),
        "origin": "catalog",
        "aggregate_type": "product",
        "aggregate_id": product.prd_id,
        "sequence": version,
        "type": "product.updated",
        "payload": {
            **columns,
            "upd_dt": "2026-12-05T10:00:00",
            "prd_ver": version,
            "prd_changed": list(columns),
            **extra,
        },
    }
    response = client.post(
        "/internal/sync/apply",
        event,
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {settings.INTERNAL_TOKEN}",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def _patch(client, product: Product, body: dict[str, object]):
    return client.patch(f"/api/products/{product.prd_id}", json.dumps(body), content_type=JSON)


def test_a_staff_patch_changes_the_fields_and_records_the_version_it_made(client) -> None:
    client.force_login(make_staff())
    product = make_product(name="Old", price="10.00")
    response = _patch(client, product, {"name": "New", "price": "12.50"})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "New" and response.json()["price"] == "12.50"
    event = OutboxEvent.objects.get(aggregate_id=str(product.prd_id))
    assert event.payload["prd_ver"] == 1 and event.payload["prd_changed"] == ["prd_nm", "unit_prc"]
    assert aggregate_version("product", product.prd_id) == 1
    assert "stk_ver" not in event.payload  # the stock's own version does not move
    # the same values again change nothing and record nothing
    assert _patch(client, product, {"name": "New"}).status_code == 200
    assert OutboxEvent.objects.filter(aggregate_id=str(product.prd_id)).count() == 1


@pytest.mark.parametrize(
    "body", [{}, {"stock": 3}, {"name": ""}, {"name": 3}, {"price": "1.5"}, {"price": 12}]
)
def test_a_patch_refuses_what_it_cannot_change(client, body) -> None:
    client.force_login(make_staff())
    product = make_product()
    response = _patch(client, product, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_body"
    assert not OutboxEvent.objects.exists()


def test_a_patch_needs_staff(client) -> None:
    product = make_product()
    assert _patch(client, product, {"name": "x"}).status_code == 401


def test_sequential_renames_from_the_catalog_apply(client) -> None:
    product = make_product(name="Old")
    assert _apply(client, product, {"prd_nm": "First"}, 1) == "applied"
    assert _apply(client, product, {"prd_nm": "Second", "unit_prc": "3.00"}, 2) == "applied"
    product.refresh_from_db()
    assert (product.prd_nm, product.unit_prc) == ("Second", "3.00")
    assert aggregate_version("product", product.prd_id) == 2
    assert not SyncConflict.objects.exists()


def test_a_rename_crossing_a_rename_made_here_is_parked_with_both_names(client) -> None:
    client.force_login(make_staff())
    product = make_product(name="Old")
    assert _patch(client, product, {"name": "Here"}).status_code == 200  # version 1 here
    assert _apply(client, product, {"prd_nm": "There"}, 1) == "conflict"  # made at 1 from 0 there
    product.refresh_from_db()
    assert product.prd_nm == "Here"  # never overwritten
    conflict = SyncConflict.objects.get()
    assert conflict.field == "fields" and json.loads(conflict.ours) == {"prd_nm": "Here"}
    assert json.loads(conflict.theirs)["prd_nm"] == "There"
    assert (conflict.expected_version, conflict.found_version) == (0, 1)


def test_a_stock_move_made_here_does_not_conflict_with_a_rename(client) -> None:
    client.force_login(make_staff())
    product = make_product(name="Old", stock=5)
    response = client.post(f"/api/products/{product.prd_id}/stock", {"delta": 2}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert _apply(client, product, {"prd_nm": "There"}, 1) == "applied"
    product.refresh_from_db()
    assert (product.prd_nm, product.stk_qty) == ("There", 7)


def test_a_resolution_applies_whatever_the_version_and_takes_it(client) -> None:
    client.force_login(make_staff())
    product = make_product(name="Old")
    _patch(client, product, {"name": "Here"})
    _patch(client, product, {"name": "Here again"})  # version 2 here
    assert _apply(client, product, {"prd_nm": "Chosen"}, 5, sync_force=True) == "applied"
    product.refresh_from_db()
    assert product.prd_nm == "Chosen" and aggregate_version("product", product.prd_id) == 5


def _resolution(client, product: Product, event_id: str, payload: dict[str, object]) -> str:
    """An operator's resolution as the resolver sends it: forced, expecting the version it read."""
    event = {
        "event_id": event_id,
        "origin": "catalog",
        "aggregate_type": "product",
        "aggregate_id": product.prd_id,
        "sequence": 1,
        "type": "product.updated",
        "payload": {"upd_dt": "2026-12-05T10:00:00", "sync_force": True, **payload},
    }
    response = client.post(
        "/internal/sync/apply",
        event,
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {settings.INTERNAL_TOKEN}",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def test_a_resolution_expecting_a_version_no_longer_held_changes_nothing_and_records_nothing(
    client,
) -> None:
    """A compare-and-set: a rename acknowledged here after the resolver read the version survives; the
    same resolution, sent again expecting the version held, applies."""
    client.force_login(make_staff())
    product = make_product(name="Old")
    _patch(client, product, {"name": "Read by the resolver"})  # version 1, read
    _patch(client, product, {"name": "Acknowledged meanwhile"})  # version 2
    outbox = OutboxEvent.objects.count()
    event_id = str(uuid.uuid4())
    chosen = {"prd_nm": "Chosen", "prd_ver": 5, "prd_changed": ["prd_nm"]}
    assert _resolution(client, product, event_id, {**chosen, "sync_expect_version": 1}) == "changed"
    product.refresh_from_db()
    assert product.prd_nm == "Acknowledged meanwhile" and aggregate_version("product", product.prd_id) == 2
    assert not AppliedEvent.objects.filter(event_id=event_id).exists()
    assert OutboxEvent.objects.count() == outbox
    assert _resolution(client, product, event_id, {**chosen, "sync_expect_version": 2}) == "applied"
    product.refresh_from_db()
    assert product.prd_nm == "Chosen" and aggregate_version("product", product.prd_id) == 5


def test_a_stock_resolution_expecting_a_stock_version_no_longer_held_changes_nothing(client) -> None:
    client.force_login(make_staff())
    product = make_product(stock=5)
    response = client.post(f"/api/products/{product.prd_id}/stock", {"delta": 2}, content_type=JSON)
    assert response.status_code == 200, response.content  # stock version 1 here
    event_id = str(uuid.uuid4())
    level = {"stk_qty": 50, "stk_delta": None, "stk_ver": 4}
    assert _resolution(client, product, event_id, {**level, "sync_expect_version": 0}) == "changed"
    product.refresh_from_db()
    assert product.stk_qty == 7 and not AppliedEvent.objects.filter(event_id=event_id).exists()
    assert _resolution(client, product, event_id, {**level, "sync_expect_version": 1}) == "applied"
    product.refresh_from_db()
    assert product.stk_qty == 50
