"""``POST /internal/sync/apply`` and ``GET /internal/session/resolve``: bearer token, JSON errors."""

from __future__ import annotations

import base64
import binascii
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string

from strangler_django.http import EndpointError, internal_endpoint, json_object
from strangler_django.sync import ReverseEventError, SyncBatch, UnknownAggregate, sync_batch_read

__all__ = ["session_resolve", "sync_apply"]

SESSION_HEADER = "HTTP_X_LEGACY_SESSION"
AUTHORIZATION_HEADER = "HTTP_X_LEGACY_AUTHORIZATION"


@internal_endpoint(["POST"])
def sync_apply(request: HttpRequest) -> JsonResponse:
    """One event (the object itself), or a batch ``{"events": [...]}`` applied in order in one transaction,
    each event in a savepoint: 200 ``{"results": [{"event_id", "outcome"} | {"event_id", "error"}]}``."""
    data = json_object(request)
    if "events" not in data:
        try:
            with transaction.atomic():
                outcome = sync_batch_read([data]).apply(data)
        except ReverseEventError as exc:
            raise EndpointError(400, "invalid_body", str(exc), field=exc.field) from None
        except UnknownAggregate as exc:
            raise EndpointError(404, "not_found", str(exc)) from None
        return JsonResponse({"event_id": data["event_id"], "outcome": outcome})
    events = data["events"]
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise EndpointError(400, "invalid_body", "events must be a list of event objects.", field="events")
    # One commit for the batch; each event runs in its own savepoint, so a refused one changes nothing.
    with transaction.atomic():
        batch = sync_batch_read(events)
        results = [_apply_one(event, batch) for event in events]
    return JsonResponse({"results": results})


def _apply_one(event: dict[str, Any], batch: SyncBatch) -> dict[str, Any]:
    """``{"event_id", "outcome"}`` or ``{"event_id", "error"}`` for one event of a batch."""
    event_id = event.get("event_id")
    try:
        return {"event_id": event_id, "outcome": batch.apply(event)}
    except ReverseEventError as exc:
        return {
            "event_id": event_id,
            "error": {"code": "invalid_body", "message": str(exc), "field": exc.field},
        }
    except UnknownAggregate as exc:
        return {"event_id": event_id, "error": {"code": "not_found", "message": str(exc)}}


@internal_endpoint(["GET"])
def session_resolve(request: HttpRequest) -> JsonResponse:
    """The user behind a session cookie's value (``X-Legacy-Session`` header or ``sessionid`` query), or
    behind a client's ``Authorization`` header passed on as ``X-Legacy-Authorization`` (HTTP basic auth,
    checked with the project's ``AUTHENTICATION_BACKENDS`` as its own API views would).

    The session is read with the project's ``SESSION_ENGINE`` and the user is its ``AUTH_USER_MODEL``;
    ``STRANGLER_IDENTITY_CLAIMS`` (a dotted path to ``callable(user) -> dict``) adds the project's own
    claims to ``user_id``, ``username`` and ``is_staff``. 404 when nobody is behind it.
    """
    authorization = request.META.get(AUTHORIZATION_HEADER, "")
    if authorization:
        user: Any = _user_of_authorization(request, authorization)
    else:
        user = _user_of_session(request)
    if user is None or not user.is_authenticated or not user.is_active:
        raise EndpointError(404, "not_found", "No live session or valid credentials with this key.")
    claims: dict[str, Any] = {
        "user_id": user.pk,
        "username": user.get_username(),
        "is_staff": bool(getattr(user, "is_staff", False)),
    }
    extra = getattr(settings, "STRANGLER_IDENTITY_CLAIMS", None)
    if extra:
        claims.update(import_string(extra)(user))
    return JsonResponse(claims)


def _user_of_session(request: HttpRequest) -> Any:
    key = request.META.get(SESSION_HEADER) or request.GET.get("sessionid", "")
    if not key:
        raise EndpointError(
            400,
            "invalid_parameter",
            "Send the session key in X-Legacy-Session, or credentials in X-Legacy-Authorization.",
            field="sessionid",
        )
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    # get_user checks the session's auth hash against the user's password, as a normal request would.
    return get_user(SimpleNamespace(session=store))


def _user_of_authorization(request: HttpRequest, authorization: str) -> Any:
    """The user of ``Basic <base64(username:password)>``; None for wrong or malformed credentials.

    Another scheme the project accepts (an API token, say) is resolved by the project's
    ``STRANGLER_AUTHORIZATION_RESOLVER``, a dotted path to ``callable(request, authorization) -> user|None``.
    """
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        resolver = getattr(settings, "STRANGLER_AUTHORIZATION_RESOLVER", None)
        if resolver:
            return import_string(resolver)(request, authorization)
        raise EndpointError(
            400,
            "invalid_parameter",
            f"Unsupported scheme {scheme!r}: Basic, or set STRANGLER_AUTHORIZATION_RESOLVER.",
            field="authorization",
        )
    try:
        username, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return authenticate(request, username=username, password=password)
