"""Personal API tokens: random strings stored as SHA-256 hashes, each with a scope and an expiry.

A token acts as its user with at most its scope's role (``viewer``, ``operator``, ``admin``; never more
than the user's own role, checked at issue and again on every use). It stops working when it expires,
when it is revoked, or when its user's generation moves on (a password, role or enabled-state change),
and while its user is disabled.

    issue(user, name, scope=..., ttl_s=...) -> IssuedToken   the plain text is returned once, never stored
    principal(token) -> Principal | None
    list(user_id | None); revoke(token_id, by=principal)     users see and revoke their own, admins any
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import Forbidden, NotFound
from strangler_proxy.controlplane.repositories import users
from strangler_proxy.controlplane.repositories.users import TokenRecord, UserRecord
from strangler_proxy.controlplane.service_layer.clock import Clock, as_utc, utcnow
from strangler_proxy.controlplane.service_layer.roles import Principal, Role

__all__ = ["DEFAULT_TTL_S", "MAX_TTL_S", "TOKEN_PREFIX", "IssuedToken", "TokenService"]

TOKEN_PREFIX = "sft_"
DEFAULT_TTL_S = 30 * 24 * 3600
MAX_TTL_S = 365 * 24 * 3600
_MAX_TOKEN_CHARS = 128


class IssuedToken(NamedTuple):
    token: str
    """The plain text: shown once."""
    record: TokenRecord


class TokenService:
    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    def issue(
        self, user: UserRecord, name: str, *, scope: Role | None = None, ttl_s: int = DEFAULT_TTL_S
    ) -> IssuedToken:
        """A new token for ``user``, acting with at most ``scope`` (default: the user's role)."""
        own = Role.parse(user.role)
        scope = scope or own
        if scope > own:
            raise Forbidden(f"a token cannot do more than its user: {user.username} is {own.label}")
        ttl_s = max(60, min(ttl_s, MAX_TTL_S))
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        with self._engine.begin() as conn:
            token_id = users.create_token(
                conn,
                user_id=user.id,
                name=name[:100] or "token",
                token_hash=_sha256(token),
                now=now,
                scope=scope.label,
                expires_at=now + timedelta(seconds=ttl_s),
                generation=user.generation,
            )
            record = users.get_token(conn, token_id)
        assert record is not None
        return IssuedToken(token, record)

    def principal(self, token: str | None) -> Principal | None:
        """The caller ``token`` stands for, when it is still valid."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_TOKEN_CHARS:
            return None
        now = self._clock()
        with self._engine.begin() as conn:
            found = users.find_token(conn, _sha256(token))
            if found is None:
                return None
            record, user = found
            if not _valid(record, user, now):
                return None
            users.touch_token(conn, record.id, now)
        role = min(Role.parse(user.role), Role.parse(record.scope))
        return Principal(user.id, user.username, role, "token", token_id=record.id)

    def list(self, user_id: int | None) -> list[TokenRecord]:
        """The tokens of ``user_id`` (every user's when None), expired ones included until revoked."""
        with self._engine.connect() as conn:
            return users.list_tokens(conn, user_id)

    def revoke(self, token_id: int, *, by: Principal) -> TokenRecord:
        """Delete a token: the caller's own, or any when the caller is an admin."""
        with self._engine.begin() as conn:
            record = users.get_token(conn, token_id)
            if record is None or (record.user_id != by.user_id and not by.can(Role.ADMIN)):
                raise NotFound(f"token {token_id} does not exist")
            users.delete_token(conn, token_id)
        return record


def _valid(record: TokenRecord, user: UserRecord, now: datetime) -> bool:
    if user.disabled or record.generation != user.generation:
        return False
    return record.expires_at is not None and as_utc(record.expires_at) > now


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
