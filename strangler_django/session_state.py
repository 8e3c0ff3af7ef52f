"""``GET``/``PATCH /internal/session/state``: a session's data, read and changed by a service.

The externalised-session-state bridge: a service that took a route over may need what the monolith
keeps in its session (a cart, say), and must change it where the contract does (a checkout empties
the cart). It never opens the session table or imports Django: it asks here, with the internal bearer
token and the session cookie's value in ``X-Legacy-Session`` (never in the URL, which access logs
keep). The session is read and written through the project's ``SESSION_ENGINE`` (db, cache,
cached_db, file; a signed-cookie session can be read but not changed from here: 409).

Only the keys listed in ``STRANGLER_SESSION_STATE_KEYS`` are ever shown or changed (none by default):
authentication keys and anything else the project keeps there stay inside the monolith.

``GET`` answers ``{"user_id": <id of the signed-in user or null>, "data": {<allowed key>: value}}``,
404 when the session does not exist (or expired). ``PATCH`` takes ``{"data": {key: value | null},
"expect": {key: value | null}}``: each key of ``data`` is set (``null`` removes it), but only when
every key of ``expect`` still holds the given value (``null``: absent), else 409 ``session_changed``
and nothing is written; it answers like ``GET`` with the new data.

Shadowed writes: the toolkit mirrors a request the monolith already answered to a service, which must
see the session as the monolith saw it *before* that request (a checkout the monolith answered has
emptied the cart already), and not as it is when the mirror runs (the client may have moved on).
``SessionSnapshotMiddleware`` (after Django's ``SessionMiddleware``) keeps the allowed keys' values from
before every write the toolkit's data plane marks as mirrored (``X-Strangler-Mirrored: 1``, which clients
cannot send: the data plane strips their ``X-Strangler-*`` headers) under its ``X-Request-Id`` (the last
16, in the session itself, so every session engine keeps them). A ``GET`` with that id in
``X-Legacy-Before-Request`` answers those values (the current ones when none were kept).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.http import HttpRequest, HttpResponse, JsonResponse

from strangler_django.http import EndpointError, internal_endpoint, json_object

__all__ = ["SNAPSHOTS_KEY", "SessionSnapshotMiddleware", "session_state"]

SESSION_HEADER = "HTTP_X_LEGACY_SESSION"
BEFORE_HEADER = "HTTP_X_LEGACY_BEFORE_REQUEST"
REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
MIRRORED_HEADER = "HTTP_X_STRANGLER_MIRRORED"
SNAPSHOTS_KEY = "_strangler_state_before"
"""The session key holding ``[[request id, {key: value before}], ...]``, newest last."""
KEPT_SNAPSHOTS = 16
"""Mirrors run within a second or so: no client writes this often in that time."""


def _allowed_keys() -> frozenset[str]:
    return frozenset(getattr(settings, "STRANGLER_SESSION_STATE_KEYS", ()) or ())


def _load(request: HttpRequest) -> SessionBase:
    key = request.META.get(SESSION_HEADER, "")
    if not key:
        raise EndpointError(
            400, "invalid_parameter", "Send the session key in X-Legacy-Session.", field="X-Legacy-Session"
        )
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    # An unknown or expired session loads as empty (every engine): nothing to show or change.
    if not list(store.keys()):
        raise EndpointError(404, "not_found", "No live session with this key.")
    return store


def _state(store: SessionBase, allowed: frozenset[str], before_request: str = "") -> dict[str, Any]:
    user: Any = get_user(SimpleNamespace(session=store))  # checks the auth hash, as a request would
    signed_in = user.is_authenticated and user.is_active
    data = {key: store[key] for key in sorted(allowed) if key in store}
    for request_id, before in store.get(SNAPSHOTS_KEY, ()) if before_request else ():
        if request_id == before_request:
            data = {key: before[key] for key in sorted(allowed) if key in before}
    return {"user_id": user.pk if signed_in else None, "data": data}


def _allowed_part(session: SessionBase, allowed: frozenset[str]) -> dict[str, Any]:
    return {key: copy.deepcopy(session[key]) for key in allowed if key in session}


class SessionSnapshotMiddleware:
    """Keeps the allowed keys' values from before a write the data plane will mirror, under its
    X-Request-Id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.META.get(REQUEST_ID_HEADER, "")
        session: SessionBase | None = getattr(request, "session", None)
        allowed = _allowed_keys()
        mirrored = request.META.get(MIRRORED_HEADER) == "1"
        if not mirrored or not request_id or session is None or not allowed:
            return self.get_response(request)
        before = _allowed_part(session, allowed)
        response = self.get_response(request)
        session = getattr(request, "session", None)  # a login replaces it
        if session is not None:
            kept = [entry for entry in session.get(SNAPSHOTS_KEY, []) if entry[0] != request_id]
            session[SNAPSHOTS_KEY] = [*kept, [request_id[:64], before]][-KEPT_SNAPSHOTS:]
        return response


def _changes(body: dict[str, Any], name: str, allowed: frozenset[str]) -> dict[str, Any]:
    value = body.get(name, {})
    if not isinstance(value, dict):
        raise EndpointError(400, "invalid_body", f'"{name}" must be an object.', field=name)
    refused = sorted(set(value) - allowed)
    if refused:
        raise EndpointError(
            400,
            "invalid_body",
            f"Session keys {refused} are not in STRANGLER_SESSION_STATE_KEYS.",
            field=name,
        )
    return value


@internal_endpoint(["GET", "PATCH"])
def session_state(request: HttpRequest) -> JsonResponse:
    """The allowed part of a session's data (GET), or that part changed (PATCH); see the module."""
    allowed = _allowed_keys()
    if request.method == "PATCH":
        body = json_object(request)
        data = _changes(body, "data", allowed)
        expect = _changes(body, "expect", allowed)
    store = _load(request)
    if request.method in ("GET", "HEAD"):
        return JsonResponse(_state(store, allowed, request.META.get(BEFORE_HEADER, "")))
    if settings.SESSION_ENGINE.endswith("signed_cookies"):
        raise EndpointError(
            409,
            "session_immutable",
            "A signed-cookie session lives in the client's cookie: only the monolith's answers change it.",
        )
    changed = sorted(key for key, value in expect.items() if store.get(key) != value)
    if changed:
        message = f"The session's {changed} changed meanwhile; read it again."
        raise EndpointError(409, "session_changed", message)
    for key, value in data.items():
        if value is None:
            store.pop(key, None)
        else:
            store[key] = value
    try:
        store.save()
    except UpdateError:
        raise EndpointError(404, "not_found", "The session ended meanwhile.") from None
    return JsonResponse(_state(store, allowed))
