"""Tester override tokens: a signed, expiring instruction to send a tester to one side.

A tester who carries a valid token in the header ``x-strangler-override`` (or, failing that, the
cookie ``strangler_override``) is sent to the side it names on every route whose action has a new
upstream (modes new, canary, shadow). Unsigned, tampered, malformed and expired tokens are ignored:
the request is routed as if it carried none.

Token format (ASCII, safe in a header and in a cookie value)::

    token   = payload "." signature
    payload = base64url(side "|" expires_at)           side is "legacy" or "new";
                                                        expires_at is whole Unix seconds (UTC)
    signature = base64url(HMAC-SHA256(key, payload))    computed over the base64url text of payload

base64url is RFC 4648 section 5 without "=" padding. ``key`` is the bytes of the control plane's
override secret: ``STRANGLER_OVERRIDE_KEY`` (or the file ``STRANGLER_OVERRIDE_KEY_FILE`` names), else the
text of ``$STRANGLER_HOME/secrets/override.key``, without surrounding whitespace, UTF-8 encoded (as
``strangler_proxy.secrets.load_key_ring`` returns it; during a rotation the previous key verifies
too). The control plane mints tokens with :func:`sign_override`; the data plane checks them with
:func:`verify_override`.
Stdlib only: this module is shared core.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal

__all__ = [
    "OVERRIDE_COOKIE",
    "OVERRIDE_HEADER",
    "OverrideSide",
    "sign_override",
    "verify_override",
    "verify_override_keys",
]

OverrideSide = Literal["legacy", "new"]

OVERRIDE_HEADER = "x-strangler-override"
OVERRIDE_COOKIE = "strangler_override"

_SIDES: frozenset[str] = frozenset({"legacy", "new"})
_MAX_TOKEN_LENGTH = 256


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: str) -> str:
    return _b64encode(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def sign_override(key: bytes, side: OverrideSide, expires_at: int) -> str:
    """A token forcing ``side`` until ``expires_at`` (Unix seconds), signed with ``key``."""
    if side not in _SIDES:
        raise ValueError(f"side must be 'legacy' or 'new', not {side!r}")
    if not key:
        raise ValueError("the override key is empty")
    payload = _b64encode(f"{side}|{int(expires_at)}".encode("ascii"))
    return f"{payload}.{_signature(key, payload)}"


def verify_override(key: bytes, token: str, now: float) -> OverrideSide | None:
    """The side ``token`` forces, or None when it is unsigned, tampered, malformed or expired at ``now``."""
    if not key or not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    payload, dot, signature = token.strip().partition(".")
    if not dot or not payload or not signature:
        return None
    try:
        expected = _signature(key, payload)
    except UnicodeEncodeError:
        return None
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
        return None
    try:
        side, bar, expires_text = _b64decode(payload).decode("ascii").partition("|")
        expires_at = int(expires_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not bar or side not in _SIDES or expires_at <= now:
        return None
    return side  # type: ignore[return-value]


def verify_override_keys(keys: Iterable[bytes], token: str, now: float) -> OverrideSide | None:
    """:func:`verify_override` with each of ``keys`` (a key ring's verifying keys), first match wins."""
    for key in keys:
        side = verify_override(key, token, now)
        if side is not None:
            return side
    return None
