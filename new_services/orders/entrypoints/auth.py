"""The customer of a request: only ever from a valid signed ``X-Strangler-Identity`` header."""

from __future__ import annotations

import base64
import binascii

import structlog
from flask import g, request

from acl.identity_verifier import CustomerIdentity, IdentityError
from new_services.orders.entrypoints.dependencies import orders

__all__ = ["NOT_AUTHENTICATED", "NotAuthenticated", "current_customer", "optional_customer"]

NOT_AUTHENTICATED = "Authentication required: log in or use HTTP basic auth."
log = structlog.get_logger("orders.auth")


class NotAuthenticated(Exception):
    def __init__(self, message: str = NOT_AUTHENTICATED) -> None:
        super().__init__(message)


def _refused_basic_auth() -> str | None:
    """The monolith's words for basic-auth credentials the proxy could not resolve, if any were sent."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "Malformed basic authorization header."
    return "Invalid username or password."


def optional_customer() -> CustomerIdentity | None:
    """The verified customer, or None (no header, or one that cannot be trusted: logged, never used)."""
    if "customer" not in g:
        try:
            g.customer = orders().identity.identify(request.headers)
        except IdentityError as exc:
            log.warning("identity refused", reason=str(exc), kind=type(exc).__name__)
            g.customer = None
    return g.customer


def current_customer() -> CustomerIdentity:
    customer = optional_customer()
    if customer is None:
        raise NotAuthenticated(_refused_basic_auth() or NOT_AUTHENTICATED)
    return customer
