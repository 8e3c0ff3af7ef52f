"""Sticky canary buckets: each user has a bucket in [0, 10000) that no rule, weight or login changes.

A user is on the new side of a canary rule iff ``bucket < weight * 100``, so raising the weight only
moves users from legacy to new, never back, and a user keeps the side while the weight is unchanged.

The user key is the proxy's own bucket cookie ``strangler_bucket`` (long-lived, HttpOnly,
SameSite=Lax, Path=/, and Secure when the user reached the site over HTTPS: the forwarder adds that
flag, as only it knows the scheme). When a request has none, the proxy issues one:

- derived from the monolith's session cookie when present (a one-way hash, so the session
  id never leaks into another cookie, and the side chosen is the one the session id would give);
- random otherwise.

Django cycles the session id at login; the bucket cookie does not change then, so a user does not
switch sides when logging in.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable

from strangler_proxy.dataplane.routing.request import RequestView

__all__ = [
    "BUCKETS",
    "BUCKET_COOKIE",
    "BUCKET_COOKIE_MAX_AGE_S",
    "DEFAULT_SESSION_COOKIE",
    "CanaryKeys",
    "bucket_of",
    "on_new_side",
]

BUCKETS = 10_000
BUCKET_COOKIE = "strangler_bucket"
BUCKET_COOKIE_MAX_AGE_S = 400 * 24 * 3600
"""The longest lifetime browsers honour (RFC 6265bis caps Max-Age at 400 days)."""
DEFAULT_SESSION_COOKIE = "sessionid"

_VALID_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def bucket_of(user_key: str) -> int:
    """The user's bucket: a stable hash of the key, independent of rule, weight and process."""
    digest = hashlib.blake2b(user_key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def on_new_side(bucket: int, weight: int) -> bool:
    """True when a user in ``bucket`` goes to the new upstream at ``weight`` percent."""
    return bucket < weight * (BUCKETS // 100)


def _random_key() -> str:
    return secrets.token_urlsafe(16)


def _key_from_session(session_id: str) -> str:
    digest = hashlib.blake2b(b"strangler-bucket:" + session_id.encode("utf-8"), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


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
        if key is not None and _VALID_KEY.fullmatch(key):
            return key, None
        session_id = cookies.get(self.session_cookie)
        key = _key_from_session(session_id) if session_id else self._new_key()
        return key, set_cookie_value(key)


def set_cookie_value(key: str) -> bytes:
    """The Set-Cookie header value that stores ``key`` as the bucket cookie."""
    return (
        f"{BUCKET_COOKIE}={key}; Path=/; Max-Age={BUCKET_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax"
    ).encode("ascii")
