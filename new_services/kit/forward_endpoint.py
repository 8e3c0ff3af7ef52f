"""``POST /internal/sync/apply`` of a service: the forward consumer's batches of the monolith's events.

The request carries the toolkit's internal token (``Authorization: Bearer``), the one `strangler up` gives
every service as ``STRANGLER_LEGACY_INTERNAL_TOKEN`` (or ``..._FILE``); without it configured the endpoint
answers 503, with another token 401. The body is ``{"events": [...]}`` (at most ``MAX_EVENTS``); the
answer ``{"results": [...]}`` holds one result per event, in order (``new_services.kit.forward_inbox``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from new_services.kit.forward_inbox import ForwardInbox
from new_services.kit.responses import error_response, json_response
from strangler_proxy.secrets import configured_secret

__all__ = ["MAX_EVENTS", "forward_sync_blueprint", "internal_token"]

MAX_EVENTS = 1000


def internal_token() -> str | None:
    """``STRANGLER_LEGACY_INTERNAL_TOKEN``, else the file ``STRANGLER_LEGACY_INTERNAL_TOKEN_FILE`` names."""
    return configured_secret("LEGACY_INTERNAL_TOKEN")


def forward_sync_blueprint(
    inbox: ForwardInbox, *, token: Callable[[], str | None] = internal_token, name: str = "forward_sync"
) -> Blueprint:
    """The endpoint over ``inbox``; ``token`` gives the expected bearer token (read on each request)."""
    blueprint = Blueprint(name, __name__)

    @blueprint.post("/internal/sync/apply")
    def apply() -> ResponseReturnValue:
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
        return json_response({"results": inbox.apply(events)})

    return blueprint
