"""Read-your-writes across the seam, the monolith's half: which sync events a request committed, and
which events from the services this monolith has applied.

``SyncPositionMiddleware`` (add it to ``MIDDLEWARE``) collects the ids of the outbox events a request
recorded with :func:`strangler_django.outbox.record_event` once their transaction commits, and names
them in the answer's ``X-Strangler-Sync-Events`` header. The toolkit's data plane turns that header into
a signed cookie, and the client's next read on a service waits until the service's sync has taken those
events. ``GET /internal/sync/arrived?event=<id>&event=...`` answers the other way round: which of the
services' events this monolith has applied (its inbox, ``internal_applied_event``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from strangler_django.http import EndpointError, internal_endpoint
from strangler_django.models import AppliedEvent

__all__ = [
    "MAX_EVENTS",
    "SYNC_EVENTS_HEADER",
    "SyncPositionMiddleware",
    "committed_event",
    "sync_arrived",
]

SYNC_EVENTS_HEADER = "X-Strangler-Sync-Events"
MAX_EVENTS = 16
"""Events named per answer (the newest ones) and asked about per call: enough for any one request."""

_committed: ContextVar[list[str] | None] = ContextVar("strangler_committed_events", default=None)


def committed_event(event_id: uuid.UUID | str) -> None:
    """Note that ``event_id`` will be committed with the current transaction (called by ``record_event``);
    outside a request going through the middleware it does nothing."""
    collected = _committed.get()
    if collected is not None:
        value = str(event_id)
        transaction.on_commit(lambda: collected.append(value))


class SyncPositionMiddleware:
    """Names the events a request committed in ``X-Strangler-Sync-Events`` (comma separated, newest last)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        collected: list[str] = []
        token = _committed.set(collected)
        try:
            response = self.get_response(request)
        finally:
            _committed.reset(token)
        if collected and response.status_code < 400:
            response[SYNC_EVENTS_HEADER] = ",".join(collected[-MAX_EVENTS:])
        return response


@internal_endpoint(["GET"])
def sync_arrived(request: HttpRequest) -> JsonResponse:
    """``{"arrived": [ids]}``: which of the ``event`` ids (up to 16) the monolith's inbox holds."""
    asked = request.GET.getlist("event")
    if not asked or len(asked) > MAX_EVENTS:
        raise EndpointError(
            400, "invalid_parameter", f"Name 1 to {MAX_EVENTS} event ids as ?event=<uuid>.", field="event"
        )
    try:
        ids = [uuid.UUID(value) for value in asked]
    except ValueError:
        raise EndpointError(400, "invalid_parameter", "An event id is not a UUID.", field="event") from None
    found = AppliedEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True)
    return JsonResponse({"arrived": sorted(str(event_id) for event_id in found)})
