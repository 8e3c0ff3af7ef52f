"""``POST /internal/sync/apply`` and ``GET /internal/session/resolve``: bearer token, JSON errors."""

import functools
from types import SimpleNamespace

from django.contrib.auth import get_user
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from legacy_monolith.customers.models import Customer
from legacy_monolith.internal.auth import has_internal_token
from legacy_monolith.internal.services import (
    ReverseEventError,
    UnknownAggregate,
    sync_batch_read,
    sync_event_apply,
)
from legacy_monolith.legacyshop.api import ApiError, api_view, parse_json_object

SESSION_HEADER = "HTTP_X_LEGACY_SESSION"


def internal_view(methods):
    """``api_view`` plus the shared-secret check (401 with ``WWW-Authenticate: Bearer``), CSRF exempt."""

    def decorator(view):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            if not has_internal_token(request):
                raise ApiError(401, "not_authenticated", "A valid internal bearer token is required.")
            return view(request, *args, **kwargs)

        wrapped = api_view(methods)(guarded)

        @functools.wraps(wrapped)
        def with_challenge(request, *args, **kwargs):
            response = wrapped(request, *args, **kwargs)
            if response.status_code == 401:
                response["WWW-Authenticate"] = 'Bearer realm="LegacyShop internal"'
            return response

        with_challenge.http_methods = wrapped.http_methods
        return csrf_exempt(with_challenge)

    return decorator


@internal_view(["POST"])
def sync_apply(request):
    """One event (the object itself), or a batch ``{"events": [...]}`` applied in order in one transaction,
    each event in a savepoint: 200 ``{"results": [{"event_id", "outcome"} | {"event_id", "error"}]}``."""
    data = parse_json_object(request)
    if "events" not in data:
        try:
            outcome = sync_event_apply(event=data)
        except ReverseEventError as exc:
            raise ApiError(400, "invalid_body", str(exc), field=exc.field) from None
        except UnknownAggregate as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        return JsonResponse({"event_id": data["event_id"], "outcome": outcome})
    events = data["events"]
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise ApiError(400, "invalid_body", "events must be a list of event objects.", field="events")
    # One commit for the batch; each event runs in its own savepoint, so a refused one changes nothing.
    # What the events need to know (recorded ids, last sequences, products) is read once for all.
    with transaction.atomic():
        batch = sync_batch_read(events)
        results = [_apply_one(event, batch) for event in events]
    return JsonResponse({"results": results})


def _apply_one(event, batch):
    """``{"event_id", "outcome"}`` or ``{"event_id", "error"}`` for one event of a batch."""
    event_id = event.get("event_id")
    try:
        return {"event_id": event_id, "outcome": sync_event_apply(event=event, batch=batch)}
    except ReverseEventError as exc:
        return {
            "event_id": event_id,
            "error": {"code": "invalid_body", "message": str(exc), "field": exc.field},
        }
    except UnknownAggregate as exc:
        return {"event_id": event_id, "error": {"code": "not_found", "message": str(exc)}}


@internal_view(["GET"])
def session_resolve(request):
    """The user behind a ``sessionid`` cookie value (``X-Legacy-Session`` header or ``sessionid`` query)."""
    key = request.META.get(SESSION_HEADER) or request.GET.get("sessionid", "")
    if not key:
        raise ApiError(
            400, "invalid_parameter", "Send the session key in X-Legacy-Session.", field="sessionid"
        )
    # get_user checks the session's auth hash against the user's password, as a normal request would.
    user = get_user(SimpleNamespace(session=SessionStore(session_key=key)))
    if not user.is_authenticated or not user.is_active:
        raise ApiError(404, "not_found", "No live session with this key.")
    customer_id = Customer.objects.filter(user=user).values_list("cust_id", flat=True).first()
    return JsonResponse(
        {
            "user_id": user.pk,
            "username": user.get_username(),
            "is_staff": user.is_staff,
            "customer_id": customer_id,
        }
    )
