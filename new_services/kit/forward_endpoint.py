"""``POST /internal/sync/apply`` of a service: the forward consumer's batches of the monolith's events.

The request carries the toolkit's internal token (``Authorization: Bearer``), the one `strangler up` gives
every service (``ServiceSettings.internal_token``); without one configured the endpoint answers 503, with
another token 401. The body is ``{"events": [...]}`` (at most ``MAX_EVENTS``); ``apply`` (the service's
``acl.sync.service.apply.ForwardInbox.apply``: the kit imports no acl) answers one result per event, in
order, sent back as ``{"results": [...]}``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from new_services.kit.responses import error_response, json_response

__all__ = ["MAX_EVENTS", "Apply", "forward_sync_blueprint"]

MAX_EVENTS = 1000

Apply = Callable[[list[Any]], list[dict[str, Any]]]
"""A batch of events as sent (JSON objects) -> one result per event, in order."""


def forward_sync_blueprint(
    apply: Apply, *, token: Callable[[], str | None], name: str = "forward_sync"
) -> Blueprint:
    """The endpoint over ``apply``; ``token`` gives the expected bearer token (read on each request)."""
    blueprint = Blueprint(name, __name__)

    @blueprint.post("/internal/sync/apply")
    def apply_events() -> ResponseReturnValue:
        expected = token()
        if not expected:
            return error_response(503, "not_configured", "No internal token is configured for this service.")
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error_response(401, "not_authenticated", "A valid internal token is required.")
        body = request.get_json(silent=True)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return error_response(400, "invalid", "The body is a JSON object with a list 'events'.")
        if len(events) > MAX_EVENTS:
            return error_response(413, "too_many", f"At most {MAX_EVENTS} events per request.")
        return json_response({"results": apply(events)})

    return blueprint
