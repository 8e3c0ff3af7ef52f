"""Who sends a request: only ever a valid signed ``X-Strangler-Identity`` header (set by the proxy).

The proxy resolves the monolith's session into that header and strips any a client sent. HTTP basic
auth is the monolith's alone: this service never sees passwords, so a basic-auth request that reaches it
carries no identity and gets the monolith's 401.
"""

from __future__ import annotations

import structlog
from flask import Response, g, request

from acl.identity_verifier import CustomerIdentity, IdentityError
from new_services.catalog.entrypoints.dependencies import catalog
from new_services.kit.responses import error_response

__all__ = [
    "BASIC_CHALLENGE",
    "NOT_AUTHENTICATED",
    "current_identity",
    "not_authenticated",
    "permission_denied",
]

NOT_AUTHENTICATED = "Authentication required: log in or use HTTP basic auth."
BASIC_CHALLENGE = 'Basic realm="LegacyShop API", charset="UTF-8"'
log = structlog.get_logger("catalog.auth")


def current_identity() -> CustomerIdentity | None:
    """The verified identity, or None (no header, no verifier, or a header that cannot be trusted)."""
    if "identity" not in g:
        verifier = catalog().identity
        identity = None
        if verifier is not None:
            try:
                identity = verifier.identify(request.headers)
            except IdentityError as exc:
                log.warning("identity refused", reason=str(exc), kind=type(exc).__name__)
        g.identity = identity
    return g.identity


def not_authenticated() -> Response:
    """The monolith's 401 for these routes, with its basic-auth challenge."""
    response = error_response(401, "not_authenticated", NOT_AUTHENTICATED)
    response.headers["WWW-Authenticate"] = BASIC_CHALLENGE
    response.vary.add("Cookie")  # the monolith read its session to find nobody
    return response


def permission_denied() -> Response:
    return error_response(403, "permission_denied", "Only staff members may do this.")
