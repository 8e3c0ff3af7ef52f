"""The monolith's CSRF rule for the JSON API, kept by this service.

The proxy turns the monolith's session cookie into a signed identity, so a request reaching this
service is session-authenticated: an unsafe one must carry the ``csrftoken`` cookie's secret in
``X-CSRFToken`` (plain, 32 characters, or masked, 64), and a cross-site ``Origin`` is refused, with
Django's reasons. Without this, a cross-site form could place orders with a customer's cookie.
"""

from __future__ import annotations

import secrets
import string

from flask import Request

__all__ = ["COOKIE_NAME", "CsrfRejected", "check_api_csrf"]

COOKIE_NAME = "csrftoken"
HEADER_NAME = "X-CSRFToken"
SECRET_LENGTH = 32
TOKEN_LENGTH = 2 * SECRET_LENGTH
ALLOWED_CHARS = string.ascii_letters + string.digits
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _problem(value: str) -> str | None:
    if len(value) not in (SECRET_LENGTH, TOKEN_LENGTH):
        return "has incorrect length"
    if any(char not in ALLOWED_CHARS for char in value):
        return "has invalid characters"
    return None


def _unmask(token: str) -> str:
    if len(token) == SECRET_LENGTH:
        return token
    mask, cipher = token[:SECRET_LENGTH], token[SECRET_LENGTH:]
    chars = ALLOWED_CHARS
    return "".join(chars[chars.index(c) - chars.index(m)] for c, m in zip(cipher, mask, strict=True))


def check_api_csrf(request: Request, *, trusted_origins: tuple[str, ...] = ()) -> None:
    """Raise ``CsrfRejected`` for an unsafe request whose header token does not match the cookie."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if (
        origin is not None
        and origin != f"{request.scheme}://{request.host}"
        and origin not in trusted_origins
    ):
        raise CsrfRejected(f"Origin checking failed - {origin} does not match any trusted origins.")
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie is None:
        raise CsrfRejected("CSRF cookie not set.")
    if (problem := _problem(cookie)) is not None:
        raise CsrfRejected(f"CSRF cookie {problem}.")
    token = request.headers.get(HEADER_NAME)
    if token is None:
        raise CsrfRejected("CSRF token missing.")
    source = "the 'X-Csrftoken' HTTP header"
    if (problem := _problem(token)) is not None:
        raise CsrfRejected(f"CSRF token from {source} {problem}.")
    if not secrets.compare_digest(_unmask(token), _unmask(cookie)):
        raise CsrfRejected(f"CSRF token from {source} incorrect.")
