"""Signed identity tokens: how the proxy tells a service who the customer is.

The data plane resolves the monolith's session cookie into claims (the user id and a few display
fields), signs them with the shared key ``$STRANGLER_HOME/secrets/identity.key`` and forwards them in
``X-Strangler-Identity``; it strips that header from every client request. A service trusts the claims
only after ``verify_identity`` succeeds.

Format (ASCII, fits a header)::

    v1.<base64url(JSON claims, sorted keys, with "exp")>.<base64url(HMAC-SHA256(key, "v1." + payload))>

Claims (``identity_claims``): ``sub`` (the monolith's ``auth_user.id`` as text), ``username``,
``staff`` (bool), optionally ``name``. ``exp`` is an integer Unix time; a token is refused at or
after it. Errors::

    IdentityError                 the header cannot be trusted (answer 401)
    ├── MalformedIdentity         not three parts, bad base64, not a JSON object, no valid ``exp``
    ├── BadSignature              the MAC does not match (tampered, or another key)
    └── ExpiredIdentity           ``now >= exp``

Stdlib only: this module is part of the shared core.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from strangler_proxy.keyring import KeyRing

__all__ = [
    "IDENTITY_HEADER",
    "IDENTITY_KEY_FILE",
    "VERSION",
    "BadSignature",
    "ExpiredIdentity",
    "IdentityError",
    "MalformedIdentity",
    "identity_claims",
    "identity_key_path",
    "sign_identity",
    "verify_identity",
]

IDENTITY_HEADER = "X-Strangler-Identity"
IDENTITY_KEY_FILE = Path("secrets") / "identity.key"
VERSION = "v1"
_MAX_TOKEN_LENGTH = 4096
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class IdentityError(Exception):
    """The identity header cannot be trusted."""


class MalformedIdentity(IdentityError):
    pass


class BadSignature(IdentityError):
    pass


class ExpiredIdentity(IdentityError):
    def __init__(self, expired_at: int) -> None:
        super().__init__(f"identity expired at {expired_at}")
        self.expired_at = expired_at


def identity_key_path(strangler_home: Path) -> Path:
    """Where the shared key lives when none is configured: load it with
    ``strangler_proxy.secrets.load_key_ring("IDENTITY_KEY", identity_key_path(home))``."""
    return strangler_home / IDENTITY_KEY_FILE


def identity_claims(
    *, user_id: int, username: str, is_staff: bool, name: str | None = None
) -> dict[str, Any]:
    """The claims for a monolith user (``/internal/session/resolve`` gives all but ``name``)."""
    claims: dict[str, Any] = {"sub": str(user_id), "username": username, "staff": is_staff}
    if name:
        claims["name"] = name
    return claims


def _key_bytes(key: str | bytes) -> bytes:
    data = key.encode("utf-8") if isinstance(key, str) else key
    if len(data) < 16:
        raise ValueError("the identity key must be at least 16 bytes long")
    return data


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text or not _BASE64URL.issuperset(text):
        raise MalformedIdentity("identity is not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedIdentity(f"identity is not base64url text: {exc}") from exc


def _mac(key: bytes, signed_part: str) -> bytes:
    return hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest()


def _timestamp(value: datetime | float | int) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("identity times must be timezone-aware")
        return int(value.timestamp())
    return int(value)


def sign_identity(
    key: str | bytes | KeyRing, claims: Mapping[str, Any], expires_at: datetime | float | int
) -> str:
    """The header value carrying ``claims`` (a JSON-serialisable mapping) until ``expires_at``."""
    if "exp" in claims:
        raise ValueError('"exp" is reserved; pass expires_at instead')
    body = {**claims, "exp": _timestamp(expires_at)}
    payload = _b64encode(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    signed_part = f"{VERSION}.{payload}"
    signing = key.current if isinstance(key, KeyRing) else key
    return f"{signed_part}.{_b64encode(_mac(_key_bytes(signing), signed_part))}"


def verify_identity(key: str | bytes | KeyRing, value: str, now: datetime | float | int) -> dict[str, Any]:
    """The claims of ``value`` (without ``exp``) when signed with ``key`` (or with any key a ring
    verifies at ``now``: the previous one during a rotation's overlap window) and not expired at ``now``."""
    if not value or len(value) > _MAX_TOKEN_LENGTH:
        raise MalformedIdentity("identity is empty or too long")
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise MalformedIdentity(f"identity is not a {VERSION} token")
    payload, signature = _b64decode(parts[1]), _b64decode(parts[2])
    signed_part = f"{parts[0]}.{parts[1]}"
    keys = KeyRing.of(key).verifying(_timestamp(now))
    if not any(hmac.compare_digest(signature, _mac(_key_bytes(k), signed_part)) for k in keys):
        raise BadSignature("identity signature does not match")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedIdentity("identity payload is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedIdentity("identity payload is not a JSON object")
    expires_at = body.pop("exp", None)
    if not isinstance(expires_at, int) or isinstance(expires_at, bool):
        raise MalformedIdentity('identity has no integer "exp"')
    if _timestamp(now) >= expires_at:
        raise ExpiredIdentity(expires_at)
    return body
