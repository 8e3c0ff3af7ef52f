"""Sticky canary buckets, the one function every front door uses (the data plane and an engine alike).

Each user has a bucket in [0, 10000) that no rule, weight or login changes. A user is on the new side
of a canary rule iff ``bucket < weight * 100``, so raising the weight only moves users from legacy to
new, never back, and a user keeps the side while the weight is unchanged.

The user key is the proxy's own bucket cookie ``strangler_bucket`` when it holds 16-64 characters of
``[A-Za-z0-9_-]``. A request without one is given one, set on the answer:

- derived from the monolith's session cookie when present: :func:`key_from_session`, a one-way hash
  (the session id never leaks into another cookie, and the side is the one the session id gives);
- random otherwise (any string of the key alphabet will do).

Django cycles the session id at login; the bucket cookie does not change then, so a user does not
switch sides when logging in.

The function, stated so that an engine can compute it with its own primitives (HAProxy does, with its
``sha2``, ``bytes``, ``hex``, ``hex2i``, ``mod`` and ``ub64enc`` converters)::

    bucket(key)          = int(first 6 bytes of SHA-256(UTF-8 key), big-endian) mod 10000
    key_from_session(s)  = base64url(first 12 bytes of SHA-256("strangler-bucket:" + s))   16 characters

Stdlib only: this module is part of the shared core.
"""

from __future__ import annotations

import base64
import hashlib
import re

__all__ = [
    "BUCKETS",
    "BUCKET_COOKIE",
    "BUCKET_COOKIE_MAX_AGE_S",
    "BUCKET_KEY_PATTERN",
    "DEFAULT_SESSION_COOKIE",
    "SESSION_KEY_PREFIX",
    "bucket_of",
    "is_bucket_key",
    "key_from_session",
    "on_new_side",
    "set_cookie_value",
]

BUCKETS = 10_000
BUCKET_COOKIE = "strangler_bucket"
BUCKET_COOKIE_MAX_AGE_S = 400 * 24 * 3600
"""The longest lifetime browsers honour (RFC 6265bis caps Max-Age at 400 days)."""
DEFAULT_SESSION_COOKIE = "sessionid"
BUCKET_KEY_PATTERN = "[A-Za-z0-9_-]{16,64}"
"""What a bucket cookie must hold to be used as the key (anything else is replaced)."""
SESSION_KEY_PREFIX = "strangler-bucket:"
"""Prepended to a session id before it is hashed into a key."""

_VALID_KEY = re.compile(BUCKET_KEY_PATTERN)
_BUCKET_BYTES = 6
_SESSION_KEY_BYTES = 12


def bucket_of(user_key: str) -> int:
    """The user's bucket: a stable hash of the key, independent of rule, weight and process."""
    digest = hashlib.sha256(user_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:_BUCKET_BYTES], "big") % BUCKETS


def on_new_side(bucket: int, weight: int) -> bool:
    """True when a user in ``bucket`` goes to the new upstream at ``weight`` percent."""
    return bucket < weight * (BUCKETS // 100)


def is_bucket_key(value: str) -> bool:
    """Whether a bucket cookie's value can serve as the key (else a new key is issued)."""
    return _VALID_KEY.fullmatch(value) is not None


def key_from_session(session_id: str) -> str:
    """The key issued to a user whose request carries the monolith's session cookie and no bucket cookie."""
    digest = hashlib.sha256((SESSION_KEY_PREFIX + session_id).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest[:_SESSION_KEY_BYTES]).decode("ascii")


def set_cookie_value(key: str) -> bytes:
    """The Set-Cookie header value that stores ``key`` as the bucket cookie (Secure added over HTTPS)."""
    return (
        f"{BUCKET_COOKIE}={key}; Path=/; Max-Age={BUCKET_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax"
    ).encode("ascii")
