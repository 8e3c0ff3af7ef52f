"""Which ``Authorization`` schemes the front doors resolve into the signed identity.

Both front doors (the data plane and the HAProxy engine) turn a credential the monolith accepts into
``X-Strangler-Identity`` through its ``/internal/session/resolve``: the session cookie, and an
``Authorization`` header whose scheme is listed here (``STRANGLER_IDENTITY_AUTH_SCHEMES``, a comma list,
default ``Basic``; add the monolith's API token scheme, ``Basic,Token`` say, when its
``STRANGLER_AUTHORIZATION_RESOLVER`` resolves it). Scheme names are compared case-insensitively and are
limited to letters, digits and ``.``, ``_``, ``~``, ``+``, ``-`` (they are rendered into HAProxy's
configuration).
"""

from __future__ import annotations

__all__ = ["AUTH_SCHEMES_PATTERN", "DEFAULT_AUTH_SCHEMES", "auth_schemes"]

AUTH_SCHEMES_PATTERN = r"^[A-Za-z0-9._~+-]+(,[A-Za-z0-9._~+-]+)*$"
DEFAULT_AUTH_SCHEMES = "Basic"


def auth_schemes(listed: str) -> tuple[str, ...]:
    """The listed schemes, lower-cased, in order, each once."""
    return tuple(dict.fromkeys(name.strip().lower() for name in listed.split(",") if name.strip()))
