"""Django-compatible CSRF tokens and checks, so that forms rendered here post fine to the monolith and
a service refuses what the monolith refuses.

The monolith keeps a 32-character secret in the ``csrftoken`` cookie (``CSRF_USE_SESSIONS`` is off) and
expects, in forms, that secret masked with a random one-time pad (64 characters), or the secret (plain
or masked) in ``X-CSRFToken``. This module reads or creates the secret, masks it the same way, and
refuses unsafe requests without a matching token with the same reasons Django gives. The proxy turns
the monolith's session cookie into a signed identity, so a request reaching a service is
session-authenticated: without this check a cross-site form could act with a customer's cookie.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Request, Response, g
from flask import request as flask_request

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "COOKIE_NAME",
    "CsrfRejected",
    "check_csrf",
    "csrf_protect",
    "csrf_token",
    "mask_secret",
    "renew_malformed_cookie",
    "set_csrf_cookie",
    "unmask_token",
]

COOKIE_NAME = "csrftoken"
COOKIE_MAX_AGE = 31449600  # one year, Django's CSRF_COOKIE_AGE
SECRET_LENGTH = 32
TOKEN_LENGTH = 2 * SECRET_LENGTH
ALLOWED_CHARS = string.ascii_letters + string.digits
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRejected(Exception):
    """An unsafe request without a valid CSRF token; ``reason`` is Django's wording."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _random_string(length: int) -> str:
    return "".join(secrets.choice(ALLOWED_CHARS) for _ in range(length))


def mask_secret(secret: str) -> str:
    mask = _random_string(SECRET_LENGTH)
    chars = ALLOWED_CHARS
    cipher = "".join(
        chars[(chars.index(s) + chars.index(m)) % len(chars)] for s, m in zip(secret, mask, strict=True)
    )
    return mask + cipher


def unmask_token(token: str) -> str:
    mask, cipher = token[:SECRET_LENGTH], token[SECRET_LENGTH:]
    chars = ALLOWED_CHARS
    return "".join(chars[chars.index(c) - chars.index(m)] for c, m in zip(cipher, mask, strict=True))


def _format_problem(value: str) -> str | None:
    if len(value) not in (SECRET_LENGTH, TOKEN_LENGTH):
        return "has incorrect length"
    if any(char not in ALLOWED_CHARS for char in value):
        return "has invalid characters"
    return None


def _cookie_secret(request: Request) -> str | None:
    """The secret from a well-formed cookie (masked cookies are unmasked), else None."""
    value = request.cookies.get(COOKIE_NAME)
    if value is None or _format_problem(value) is not None:
        return None
    return unmask_token(value) if len(value) == TOKEN_LENGTH else value


def csrf_token(request: Request) -> str:
    """A masked token for a form; remembers that the response must (re)set the cookie."""
    secret = g.get("csrf_secret") or _cookie_secret(request) or _random_string(SECRET_LENGTH)
    g.csrf_secret = secret
    return mask_secret(secret)


def set_csrf_cookie(response: Response) -> Response:
    """Set ``csrftoken`` when a token was handed out during the request (as Django does)."""
    secret = g.get("csrf_secret")
    if secret:
        expires = format_datetime(datetime.now(UTC) + timedelta(seconds=COOKIE_MAX_AGE), usegmt=True)
        # written by hand to match Django's header byte for byte (werkzeug capitalises "Expires")
        response.headers.add(
            "Set-Cookie",
            f"{COOKIE_NAME}={secret}; expires={expires}; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=Lax",
        )
        response.vary.add("Cookie")
    return response


def csrf_protect(
    trusted_origins: Callable[[], tuple[str, ...]],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator that checks the CSRF token before the view runs, as Django's CsrfViewMiddleware does
    for every view not marked ``csrf_exempt``; ``trusted_origins`` is asked at each request."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            check_csrf(flask_request, trusted_origins=trusted_origins())
            return view(*args, **kwargs)

        return wrapper

    return decorator


def renew_malformed_cookie(request: Request) -> None:
    """Like Django's CsrfViewMiddleware: a malformed ``csrftoken`` cookie is replaced on the response."""
    value = request.cookies.get(COOKIE_NAME)
    if value is not None and _format_problem(value) is not None:
        g.csrf_secret = _random_string(SECRET_LENGTH)


def check_csrf(request: Request, *, trusted_origins: tuple[str, ...] = (), form_token: bool = True) -> None:
    """Raise CsrfRejected for an unsafe request whose token does not match the cookie's secret.

    The token is read from a POSTed form's ``csrfmiddlewaretoken``, else from ``X-CSRFToken``; with
    ``form_token=False`` (a JSON API, whose body is not a form) from the header only."""
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
    problem = _format_problem(cookie)
    if problem is not None:
        raise CsrfRejected(f"CSRF cookie {problem}.")
    secret = _cookie_secret(request)
    token = request.form.get("csrfmiddlewaretoken", "") if form_token and request.method == "POST" else ""
    source = "POST"
    if token == "":
        if "X-CSRFToken" not in request.headers:
            raise CsrfRejected("CSRF token missing.")
        token = request.headers["X-CSRFToken"]
        source = "the 'X-Csrftoken' HTTP header"
    problem = _format_problem(token)
    if problem is not None:
        raise CsrfRejected(f"CSRF token from {source} {problem}.")
    if len(token) == TOKEN_LENGTH:
        token = unmask_token(token)
    if secret is None or not secrets.compare_digest(token, secret):
        raise CsrfRejected(f"CSRF token from {source} incorrect.")
