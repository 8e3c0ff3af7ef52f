"""Server-side sessions: a random id in the cookie, a row in the store, ended by logout or by any change
to the user that bumps its generation (password, role, disabled).

A session is valid while its row exists, it has not expired (``session_max_age_s`` after login) and it
carries its user's current generation, and the user is enabled. The cookie holds only the random id;
the store keeps its SHA-256, so a copy of the store opens no session. The CSRF token of a session is
an HMAC of its id under the session key: nothing more to store, and it dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import Engine

from strangler_proxy.controlplane.repositories import sessions as repo
from strangler_proxy.controlplane.repositories import users
from strangler_proxy.controlplane.repositories.users import UserRecord
from strangler_proxy.controlplane.service_layer.clock import Clock, as_utc, utcnow
from strangler_proxy.controlplane.service_layer.roles import Principal, Role

__all__ = ["SessionService"]

_MAX_COOKIE_CHARS = 128


class SessionService:
    def __init__(self, engine: Engine, *, session_key: str, max_age_s: int, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._csrf_key = hashlib.sha256(("csrf:" + session_key).encode()).digest()
        self.max_age_s = max_age_s

    def open(self, user: UserRecord, *, address: str | None = None) -> str:
        """A new session for ``user``; returns the cookie value (never stored as such)."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._engine.begin() as conn:
            repo.create_session(
                conn,
                id_hash=_sha256(session_id),
                user_id=user.id,
                generation=user.generation,
                now=now,
                expires_at=now + timedelta(seconds=self.max_age_s),
                address=address,
            )
        return session_id

    def principal(self, cookie: str | None) -> Principal | None:
        """The user of the session ``cookie`` names, when that session is still valid."""
        if not cookie or len(cookie) > _MAX_COOKIE_CHARS:
            return None
        with self._engine.connect() as conn:
            session = repo.find_session(conn, _sha256(cookie))
            if session is None or as_utc(session.expires_at) <= self._clock():
                return None
            user = users.get_user(conn, session.user_id)
        if user is None or user.disabled or user.generation != session.generation:
            return None
        return Principal(user.id, user.username, Role.parse(user.role), "session", self._csrf_for(cookie))

    def end(self, cookie: str | None) -> bool:
        """End the session ``cookie`` names (logout); whether there was one."""
        if not cookie or len(cookie) > _MAX_COOKIE_CHARS:
            return False
        with self._engine.begin() as conn:
            return repo.delete_session(conn, _sha256(cookie))

    def prune(self) -> int:
        """Delete expired sessions; how many."""
        with self._engine.begin() as conn:
            return repo.delete_expired(conn, self._clock())

    def _csrf_for(self, session_id: str) -> str:
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def csrf_matches(principal: Principal, presented: str | None) -> bool:
        return bool(
            presented and principal.csrf_token and hmac.compare_digest(principal.csrf_token, presented)
        )


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
