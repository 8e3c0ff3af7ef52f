"""/internal/sync/apply with a project's own applier, /internal/session/resolve with a custom user model
and cache sessions, /healthz and /readyz."""

import uuid

import pytest
from django.conf import settings
from suite_project.shop.models import Member, Widget

from strangler_django.models import AppliedEvent, OutboxEvent

pytestmark = pytest.mark.django_db
JSON = "application/json"


def _bearer(token=None):
    return {"HTTP_AUTHORIZATION": f"Bearer {token or settings.STRANGLER_INTERNAL_TOKEN}"}


def _event(widget_id, sequence=1, colour="red", **extra):
    event = {
        "event_id": str(uuid.uuid4()),
        "origin": "widgets",
        "aggregate_type": "widget",
        "aggregate_id": str(widget_id),
        "sequence": sequence,
        "type": "widget.recoloured",
        "payload": {"colour": colour},
    }
    event.update(extra)
    return event


def test_an_event_is_applied_once_and_in_order(client):
    widget = Widget.objects.create(name="w")
    first = _event(widget.pk, sequence=2, colour="red")
    assert client.post("/internal/sync/apply", first, content_type=JSON, **_bearer()).json()["outcome"] == (
        "applied"
    )
    again = client.post("/internal/sync/apply", first, content_type=JSON, **_bearer())
    assert again.json()["outcome"] == "duplicate"
    older = client.post("/internal/sync/apply", _event(widget.pk, 1, "blue"), content_type=JSON, **_bearer())
    assert older.json()["outcome"] == "stale"
    widget.refresh_from_db()
    assert widget.colour == "red"
    # The applier's outbox event carries the service's origin, so the relay never echoes it back.
    assert list(OutboxEvent.objects.values_list("event_type", "origin")) == [("widget.recoloured", "widgets")]
    assert AppliedEvent.objects.count() == 2


def test_a_batch_applies_each_event_in_a_savepoint(client):
    widget = Widget.objects.create(name="w")
    batch = {
        "events": [
            _event(widget.pk, 1, "red"),
            _event(widget.pk, 2, ""),  # refused by the applier: nothing of it stays
            _event(999, 1, "red"),
            _event(widget.pk, 3, "green", type="widget.exploded"),
            _event(widget.pk, 4, "green"),
        ]
    }
    response = client.post("/internal/sync/apply", batch, content_type=JSON, **_bearer())
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r.get("outcome") or r["error"]["code"] for r in results] == [
        "applied",
        "invalid_body",
        "not_found",
        "invalid_body",
        "applied",
    ]
    assert results[1]["error"]["field"] == "colour" and results[3]["error"]["field"] == "type"
    widget.refresh_from_db()
    assert widget.colour == "green"
    assert AppliedEvent.objects.count() == 2


def test_errors_name_the_field_and_the_status(client):
    widget = Widget.objects.create(name="w")
    own = client.post(
        "/internal/sync/apply", _event(widget.pk, origin="monolith"), content_type=JSON, **_bearer()
    )
    assert own.status_code == 400 and own.json()["error"]["field"] == "origin"
    missing = client.post("/internal/sync/apply", _event(404), content_type=JSON, **_bearer())
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = client.post("/internal/sync/apply", "[1]", content_type=JSON, **_bearer())
    assert bad.status_code == 400
    assert client.get("/internal/sync/apply", **_bearer()).status_code == 405


def test_the_internal_endpoints_need_the_token(client, settings):
    widget = Widget.objects.create(name="w")
    wrong = client.post("/internal/sync/apply", _event(widget.pk), content_type=JSON, **_bearer("nope"))
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION="x").status_code == 401
    settings.STRANGLER_INTERNAL_TOKEN = ""
    unset = client.post("/internal/sync/apply", _event(widget.pk), content_type=JSON, **_bearer("anything"))
    assert unset.status_code == 503 and "STRANGLER_INTERNAL_TOKEN" in unset.json()["error"]["message"]
    widget.refresh_from_db()
    assert widget.colour == "grey"


def test_a_session_resolves_to_the_custom_user_with_the_project_s_claims(client):
    member = Member.objects.create_user("ada@example.com", password="pw-0123456789", team="red")
    client.force_login(member)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    resolved = client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION=key, **_bearer())
    assert resolved.status_code == 200
    assert resolved.json() == {
        "user_id": member.pk,
        "username": "ada@example.com",
        "is_staff": False,
        "team": "red",
    }
    unknown = client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION="nope", **_bearer())
    assert unknown.status_code == 404
    # A password change ends the session, as it would for the monolith's own pages.
    member.set_password("another-0123456789")
    member.save()
    assert client.get("/internal/session/resolve", HTTP_X_LEGACY_SESSION=key, **_bearer()).status_code == 404


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok"}}
    assert client.post("/readyz").status_code == 405


def test_basic_auth_credentials_resolve_to_their_user_and_wrong_ones_to_nobody(client):
    import base64

    member = Member.objects.create_user("bob@example.com", password="pw-0123456789", team="blue")

    def resolve(credentials):
        basic = "Basic " + base64.b64encode(credentials.encode()).decode()
        return client.get("/internal/session/resolve", HTTP_X_LEGACY_AUTHORIZATION=basic, **_bearer())

    found = resolve("bob@example.com:pw-0123456789")
    assert found.status_code == 200
    assert found.json() == {
        "user_id": member.pk,
        "username": "bob@example.com",
        "is_staff": False,
        "team": "blue",
    }
    assert resolve("bob@example.com:wrong").status_code == 404
    assert resolve("nobody@example.com:pw-0123456789").status_code == 404
    other_scheme = client.get(
        "/internal/session/resolve", HTTP_X_LEGACY_AUTHORIZATION="Bearer abc", **_bearer()
    )
    assert other_scheme.status_code == 400
