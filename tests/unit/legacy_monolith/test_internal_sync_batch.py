"""``/internal/sync/apply`` batches: what every event needs is read once per batch, guarantees unchanged."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from legacy_monolith.catalog.events import product_event_record
from legacy_monolith.catalog.models import Product
from strangler_django.models import AppliedEvent, OutboxEvent
from tests.unit.legacy_monolith.factories import make_category, make_product

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

JSON = "application/json"
BATCH = 100
PER_EVENT = 5
"""Statements per applied stock change: savepoint, inbox row, product UPDATE, outbox row, release.
Four more per event were asked before (recorded id, last sequence, product, last outbox sequence)."""


def _post(client, events: list[dict[str, object]]) -> list[dict[str, object]]:
    response = client.post(
        "/internal/sync/apply",
        {"events": events},
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {settings.INTERNAL_TOKEN}",
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _event(product: Product, sequence: int, origin: str = "catalog", **payload: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "origin": origin,
        "aggregate_type": "product",
        "aggregate_id": str(product.prd_id),
        "sequence": sequence,
        "type": "product.updated",
        "payload": {"prd_id": product.prd_id, **payload},
    }


def _outcomes(results: list[dict[str, object]]) -> list[object]:
    return [result.get("outcome") or result["error"]["code"] for result in results]  # type: ignore[union-attr]


def test_a_100_event_batch_reads_the_inbox_products_and_outbox_sequences_once(client):
    products = [make_product(stock=5) for _ in range(BATCH // 2)]
    # Two events per product, with history behind them: the last sequence is read for each stream.
    _post(client, [_event(product, sequence=1, stk_qty=6) for product in products])
    events = [_event(product, sequence=seq, stk_qty=seq) for seq in (2, 3) for product in products]

    with CaptureQueriesContext(connection) as queries:
        results = _post(client, events)

    assert _outcomes(results) == ["applied"] * BATCH
    # The transaction (or savepoint), four batch reads, PER_EVENT each: a per-event read adds 100.
    assert len(queries.captured_queries) <= PER_EVENT * BATCH + 10, len(queries.captured_queries)
    assert {product.stk_qty for product in Product.objects.all()} == {3}
    # The outbox events of each product keep consecutive sequences across batches.
    for product in products:
        sequences = OutboxEvent.objects.filter(aggregate_id=str(product.prd_id)).values_list("sequence")
        assert sorted(sequence for (sequence,) in sequences) == [1, 2, 3]


def test_outbox_sequences_continue_after_the_monolith_s_own_events(client):
    product = make_product(stock=5)
    with transaction.atomic():
        product_event_record(product=product, event_type="product.stock_changed")
    _post(client, [_event(product, sequence=1, stk_qty=6), _event(product, sequence=2, stk_qty=7)])
    assert list(OutboxEvent.objects.values_list("sequence", "origin")) == [
        (1, "legacy"),
        (2, "catalog"),
        (3, "catalog"),
    ]


def test_a_redelivered_batch_applies_nothing_twice(client):
    product = make_product(stock=5)
    events = [_event(product, sequence=seq, stk_qty=seq) for seq in (1, 2, 3)]
    assert _outcomes(_post(client, events)) == ["applied"] * 3
    assert _outcomes(_post(client, events)) == ["duplicate"] * 3
    assert OutboxEvent.objects.count() == 3 and AppliedEvent.objects.count() == 3
    product.refresh_from_db()
    assert product.stk_qty == 3


def test_order_is_kept_per_origin_and_aggregate_inside_a_batch(client):
    product, other = make_product(stock=5), make_product(stock=5)
    results = _post(
        client,
        [
            _event(product, sequence=2, stk_qty=20),
            _event(product, sequence=1, stk_qty=10),  # older than the one just applied
            _event(product, sequence=1, origin="orders", stk_qty=30),  # another origin's stream
            _event(other, sequence=1, stk_qty=40),
            _event(product, sequence=3, stk_qty=50),
        ],
    )
    assert _outcomes(results) == ["applied", "stale", "applied", "applied", "applied"]
    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.stk_qty, other.stk_qty) == (50, 40)
    assert sorted(AppliedEvent.objects.filter(outcome="stale").values_list("sequence", flat=True)) == [1]
    # A later batch knows the last applied sequence from the inbox.
    assert _outcomes(_post(client, [_event(product, sequence=3, stk_qty=60)])) == ["stale"]


def test_a_refused_event_leaves_the_batch_s_product_row_as_the_database_has_it(client):
    product = make_product(stock=5)
    make_category("Garden>Tools")
    results = _post(
        client,
        [
            _event(product, sequence=1, stk_qty=7),
            _event(product, sequence=2, stk_qty=8, cat_path="No>Such>Category"),
            _event(product, sequence=3, prd_nm="Renamed", cat_path="Garden>Tools"),
            {**_event(product, sequence=4, stk_qty=9), "aggregate_id": "999999"},
        ],
    )
    assert _outcomes(results) == ["applied", "invalid_body", "applied", "not_found"]
    product.refresh_from_db()
    assert (product.stk_qty, product.prd_nm, product.cat_path) == (7, "Renamed", "Garden>Tools")
    assert product.ctg.cat_path == "Garden>Tools"
    assert list(OutboxEvent.objects.values_list("sequence", flat=True)) == [1, 2]
    echo = OutboxEvent.objects.order_by("-id").first()
    assert (echo.payload["stk_qty"], echo.payload["cat_path"], echo.origin) == (7, "Garden>Tools", "catalog")
