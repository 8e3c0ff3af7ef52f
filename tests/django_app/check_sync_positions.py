"""Read-your-writes, the monolith's half: the answer names the outbox events its request committed (never
one rolled back), and /internal/sync/arrived says which services' events the inbox holds."""

import uuid
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory
from suite_project.shop.models import Widget

from strangler_django.models import AppliedEvent
from strangler_django.outbox import record_event
from strangler_django.sync_positions import SyncPositionMiddleware

pytestmark = pytest.mark.django_db(transaction=True)


def _served(view):
    return SyncPositionMiddleware(lambda request: view())(RequestFactory().post("/shop/widgets"))


def test_an_answer_names_the_events_its_request_committed_and_not_the_rolled_back_ones():
    widget = Widget.objects.create(name="w")

    def view(status=200):
        with transaction.atomic():
            kept = record_event("widget", widget.pk, "widget.recoloured", {"colour": "red"})
        try:
            with transaction.atomic():
                record_event("widget", widget.pk, "widget.recoloured", {"colour": "blue"})
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        view.kept = str(kept.event_id)
        return HttpResponse(status=status)

    answer = _served(view)
    assert answer["X-Strangler-Sync-Events"] == view.kept
    assert not _served(lambda: HttpResponse()).has_header("X-Strangler-Sync-Events")
    assert not _served(lambda: view(status=409)).has_header("X-Strangler-Sync-Events")


def test_arrived_names_the_applied_events_it_was_asked_about(client):
    applied, unknown = uuid.uuid4(), uuid.uuid4()
    AppliedEvent.objects.create(
        event_id=applied,
        origin="widgets",
        aggregate_type="widget",
        aggregate_id="1",
        sequence=1,
        event_type="widget.recoloured",
        outcome="applied",
        applied_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {settings.STRANGLER_INTERNAL_TOKEN}"}
    answer = client.get(f"/internal/sync/arrived?event={applied}&event={unknown}", **bearer)
    assert answer.status_code == 200 and answer.json() == {"arrived": [str(applied)]}
    assert client.get(f"/internal/sync/arrived?event={applied}").status_code == 401
    bad = client.get("/internal/sync/arrived?event=nope", **bearer)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "event"
    assert client.get("/internal/sync/arrived", **bearer).status_code == 400
