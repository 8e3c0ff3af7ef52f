"""/internal/session/state with cache sessions (this project's engine) and signed-cookie sessions: only
the allowed keys are shown or changed, a change is refused when the session moved on meanwhile."""

import json

import pytest
from django.conf import settings
from django.test import override_settings
from suite_project.shop.models import Member

pytestmark = pytest.mark.django_db
JSON = "application/json"
PATH = "/internal/session/state"


def _headers(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.STRANGLER_INTERNAL_TOKEN}", "HTTP_X_LEGACY_SESSION": key}


def _signed_in(client, basket):
    member = Member.objects.create_user("ada@example.com", password="pw-0123456789", team="red")
    client.force_login(member)
    session = client.session
    session["basket"] = basket
    session["secret"] = "never shown"
    session.save()
    return member, session.session_key  # a signed-cookie session's key is its new cookie value


def _patch(client, key, body):
    return client.patch(PATH, json.dumps(body), content_type=JSON, **_headers(key))


def test_the_allowed_keys_of_a_cache_session_are_read_and_changed(client):
    member, key = _signed_in(client, {"7": 2})
    read = client.get(PATH, **_headers(key))
    assert read.status_code == 200
    assert read.json() == {"user_id": member.pk, "data": {"basket": {"7": 2}}}

    emptied = _patch(client, key, {"data": {"basket": {}}, "expect": {"basket": {"7": 2}}})
    assert emptied.status_code == 200, emptied.content
    assert emptied.json() == {"user_id": member.pk, "data": {"basket": {}}}
    # The monolith's own next request sees the change, and the rest of the session is intact.
    session = client.session
    assert session["basket"] == {} and session["secret"] == "never shown"

    removed = _patch(client, key, {"data": {"basket": None}})
    assert removed.json()["data"] == {} and "basket" not in client.session


def test_a_change_is_refused_when_the_session_moved_on_or_names_another_key(client):
    _, key = _signed_in(client, {"7": 3})
    stale = _patch(client, key, {"data": {"basket": {}}, "expect": {"basket": {"7": 2}}})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "session_changed"
    assert client.session["basket"] == {"7": 3}
    other = _patch(client, key, {"data": {"secret": "x"}})
    assert other.status_code == 400 and other.json()["error"]["field"] == "data"
    assert client.session["secret"] == "never shown"


def test_unknown_sessions_anonymous_sessions_and_the_token(client):
    assert client.get(PATH, **_headers("no-such-session-key")).status_code == 404
    session = client.session
    session["basket"] = {"1": 1}
    session.save()
    anonymous = client.get(PATH, **_headers(session.session_key))
    assert anonymous.json() == {"user_id": None, "data": {"basket": {"1": 1}}}
    assert client.get(PATH, HTTP_X_LEGACY_SESSION=session.session_key).status_code == 401
    missing = client.get(PATH, HTTP_AUTHORIZATION=f"Bearer {settings.STRANGLER_INTERNAL_TOKEN}")
    assert missing.status_code == 400


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
def test_a_signed_cookie_session_is_read_but_not_changed(client):
    member, key = _signed_in(client, {"7": 2})
    assert client.get(PATH, **_headers(key)).json() == {"user_id": member.pk, "data": {"basket": {"7": 2}}}
    refused = _patch(client, key, {"data": {"basket": {}}})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_immutable"


def test_a_shadowed_request_reads_the_session_as_it_was_before_the_request_it_mirrors(client):
    from importlib import import_module

    from django.http import HttpResponse
    from django.test import RequestFactory

    from strangler_django.session_state import SessionSnapshotMiddleware

    member, key = _signed_in(client, {"7": 2})

    def served(method, request_id, view, **meta):
        request = getattr(RequestFactory(), method)("/shop/checkout", HTTP_X_REQUEST_ID=request_id, **meta)
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        SessionSnapshotMiddleware(lambda r: view(r) or HttpResponse())(request)
        request.session.save()

    mirrored = {"HTTP_X_STRANGLER_MIRRORED": "1"}
    # a refused checkout the data plane mirrors: kept although it changed nothing, since the client may
    # change the basket before the mirror reads it
    served("post", "req-refused", lambda r: None, **mirrored)
    served("post", "req-checkout", lambda r: r.session.__setitem__("basket", {}), **mirrored)
    served("post", "req-direct", lambda r: r.session.__setitem__("basket", {"9": 1}))  # not mirrored
    served("post", "req-again", lambda r: r.session.__setitem__("basket", {}))  # not mirrored either

    def state(before=None):
        headers = _headers(key)
        if before:
            headers["HTTP_X_LEGACY_BEFORE_REQUEST"] = before
        return client.get(PATH, **headers).json()

    assert state("req-checkout") == {"user_id": member.pk, "data": {"basket": {"7": 2}}}
    assert state("req-refused") == state("req-checkout")
    assert (
        state()
        == state("req-direct")
        == state("req-unknown")
        == {"user_id": member.pk, "data": {"basket": {}}}
    )
    assert "_strangler_state_before" not in client.get(PATH, **_headers(key)).json()["data"]
