"""The data plane's side of sticky canary buckets: finding (or minting) a request's user key.

The bucket function itself, and the rules for the key, are shared with the engines
(:mod:`strangler_proxy.routes.canary`), so switching between the data plane and an engine moves no
user. The bucket cookie is set long-lived, HttpOnly, SameSite=Lax, Path=/, and Secure when the user
reached the site over HTTPS (the forwarder adds that flag, as only it knows the scheme).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from strangler_proxy.dataplane.routing.request import RequestView
from strangler_proxy.routes.canary import (
    BUCKET_COOKIE,
    DEFAULT_SESSION_COOKIE,
    is_bucket_key,
    key_from_session,
    set_cookie_value,
)

__all__ = ["CanaryKeys"]


def _random_key() -> str:
    return secrets.token_urlsafe(16)


class CanaryKeys:
    """Finds (or mints) the user key of a request."""

    __slots__ = ("_new_key", "session_cookie")

    def __init__(
        self, *, session_cookie: str = DEFAULT_SESSION_COOKIE, new_key: Callable[[], str] = _random_key
    ) -> None:
        self.session_cookie = session_cookie
        self._new_key = new_key

    def resolve(self, request: RequestView) -> tuple[str, bytes | None]:
        """``(user key, Set-Cookie value or None)``: the cookie is set when the request carried none."""
        cookies = request.cookies()
        key = cookies.get(BUCKET_COOKIE)
        if key is not None and is_bucket_key(key):
            return key, None
        session_id = cookies.get(self.session_cookie)
        key = key_from_session(session_id) if session_id else self._new_key()
        return key, set_cookie_value(key)
