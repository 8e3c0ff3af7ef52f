"""Who the customer is, for a service behind the proxy: verify ``X-Strangler-Identity`` into a record.

The proxy resolves the monolith's session into claims (``sub`` = the monolith's ``auth_user.id`` as
text, ``username``, ``name``, ``staff``), signs them (``strangler_proxy.identity_token``) and strips any
identity header a client sent. A service builds one ``IdentityVerifier`` from the shared key and asks
it for the ``CustomerIdentity`` of each request: ``None`` when the header is absent (anonymous), an
``IdentityError`` when it is present but cannot be trusted. Nothing else about a request (cookies,
``X-User``-style headers) is ever read as identity.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from strangler_proxy.identity_token import (
    IDENTITY_HEADER,
    IdentityError,
    MalformedIdentity,
    identity_claims,
    identity_key_path,
    sign_identity,
    verify_identity,
)
from strangler_proxy.keyring import KeyRing
from strangler_proxy.secrets import load_key_ring

__all__ = [
    "IDENTITY_HEADER",
    "CustomerIdentity",
    "IdentityError",
    "IdentityVerifier",
    "claims_for",
    "load_identity_key",
]


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    """A logged-in user of the shop as the monolith knows it (``user_id`` is ``auth_user.id``)."""

    user_id: int
    username: str
    name: str
    is_staff: bool = False


def claims_for(identity: CustomerIdentity) -> dict[str, Any]:
    """The claims the proxy signs for ``identity`` (the inverse of ``IdentityVerifier``'s parsing)."""
    return identity_claims(
        user_id=identity.user_id, username=identity.username, is_staff=identity.is_staff, name=identity.name
    )


def _identity_from_claims(claims: Mapping[str, Any]) -> CustomerIdentity:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not (subject.isascii() and subject.isdigit()) or int(subject) < 1:
        raise MalformedIdentity(f'identity "sub" must be a positive user id as text, got {subject!r}')
    username = claims.get("username")
    if not isinstance(username, str) or not username:
        raise MalformedIdentity('identity has no "username"')
    name = claims.get("name", username)
    staff = claims.get("staff", False)
    if not isinstance(name, str) or not isinstance(staff, bool):
        raise MalformedIdentity('identity "name" must be text and "staff" a boolean')
    return CustomerIdentity(user_id=int(subject), username=username, name=name or username, is_staff=staff)


def load_identity_key(strangler_home: Path) -> KeyRing:
    """The shared key: ``STRANGLER_IDENTITY_KEY`` (or the file ``STRANGLER_IDENTITY_KEY_FILE`` names),
    else ``$STRANGLER_HOME/secrets/identity.key`` (created on first use); with the previous key while a
    rotation's overlap window lasts (``STRANGLER_IDENTITY_KEY_PREVIOUS`` and ``_PREVIOUS_UNTIL``)."""
    return load_key_ring("IDENTITY_KEY", identity_key_path(strangler_home))


class HeaderLookup(Protocol):
    """What ``identify`` reads headers from: a mapping, or a web framework's header collection."""

    def get(self, key: str) -> str | None: ...


class IdentityVerifier:
    """``verifier.identify(request.headers)`` -> ``CustomerIdentity | None``, or ``IdentityError``."""

    def __init__(self, key: str | bytes | KeyRing, *, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def identify(self, headers: HeaderLookup) -> CustomerIdentity | None:
        value = headers.get(IDENTITY_HEADER)
        if value is None:
            return None
        return _identity_from_claims(verify_identity(self._key, value, self._clock()))

    def sign(self, identity: CustomerIdentity, *, ttl: float = 60.0) -> str:
        """A header value for ``identity`` valid ``ttl`` seconds (what the proxy does; handy in tests)."""
        return sign_identity(self._key, claims_for(identity), self._clock() + ttl)
