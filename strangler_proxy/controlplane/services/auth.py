"""Authentication and authorisation: argon2 passwords, signed session cookies, bearer tokens, roles, CSRF.

Roles are ordered: viewer (read) < operator (flip, rollback, panic) < admin (users, upstreams, guards).
A session cookie carries the user id and a random nonce, signed with the session key; the CSRF token
of that session is an HMAC of the nonce, so it needs no server-side storage. Bearer tokens are
random strings stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import BadRequest, Conflict, NotFound, TooManyRequests
from strangler_proxy.controlplane.repositories import users
from strangler_proxy.controlplane.repositories.users import TokenRecord, UserRecord
from strangler_proxy.controlplane.services.clock import Clock, utcnow

__all__ = ["TOKEN_PREFIX", "AuthService", "LoginThrottle", "Principal", "Role"]

TOKEN_PREFIX = "sft_"


class LoginThrottle:
    """At most ``limit`` failed logins per user name within ``window_s``; then 429 until they age out."""

    def __init__(self, *, limit: int = 10, window_s: float = 300.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, username: str) -> None:
        with self._lock:
            recent = self._recent(username)
            if len(recent) >= self.limit:
                wait = int(recent[0] + self.window_s - time.monotonic()) + 1
                raise TooManyRequests(f"too many failed logins for {username!r}; try again in {wait} s")

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)

    def _recent(self, username: str) -> deque[float]:
        recent = self._failures.setdefault(username, deque())
        while recent and recent[0] < time.monotonic() - self.window_s:
            recent.popleft()
        return recent


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.upper()]
        except KeyError:
            raise BadRequest(f"unknown role {value!r}; use viewer, operator or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    user_id: int
    username: str
    role: Role
    via: Literal["session", "token"]
    csrf_token: str | None = None

    def can(self, role: Role) -> bool:
        return self.role >= role


class AuthService:
    def __init__(
        self,
        engine: Engine,
        *,
        session_key: str,
        session_max_age_s: int,
        clock: Clock = utcnow,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self._sessions = URLSafeTimedSerializer(session_key, salt="strangler.session")
        self._csrf_key = hashlib.sha256(("csrf:" + session_key).encode()).digest()
        self.session_max_age_s = session_max_age_s
        self.throttle = LoginThrottle()

    # ---- passwords and users ----------------------------------------------------------------------

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def check_password(self, username: str, password: str) -> UserRecord | None:
        """The user when ``password`` is right and the account enabled, else None.

        Raises TooManyRequests after too many recent failures for ``username``.
        """
        self.throttle.check(username)
        with self._engine.connect() as conn:
            user = users.get_user_by_name(conn, username)
        if user is None:
            self._hasher.hash(password)  # same cost whether or not the user exists
            self.throttle.failed(username)
            return None
        try:
            self._hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            self.throttle.failed(username)
            return None
        if user.disabled:
            return None
        self.throttle.succeeded(username)
        if self._hasher.check_needs_rehash(user.password_hash):
            with self._engine.begin() as conn:
                users.update_user(conn, user.id, password_hash=self._hasher.hash(password))
        return user

    def create_user(self, username: str, password: str, role: Role) -> UserRecord:
        username = username.strip()
        if not username or len(username) > 150:
            raise BadRequest("a username has 1 to 150 characters")
        if len(password) < 12:
            raise BadRequest("a password has at least 12 characters")
        with self._engine.begin() as conn:
            if users.get_user_by_name(conn, username) is not None:
                raise Conflict(f"user {username!r} already exists")
            user_id = users.create_user(
                conn,
                username=username,
                password_hash=self.hash_password(password),
                role=role.label,
                now=self._clock(),
            )
            created = users.get_user(conn, user_id)
        assert created is not None
        return created

    def update_user(
        self,
        username: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> UserRecord:
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = role.label
        if disabled is not None:
            values["disabled"] = disabled
        if password is not None:
            if len(password) < 12:
                raise BadRequest("a password has at least 12 characters")
            values["password_hash"] = self.hash_password(password)
        with self._engine.begin() as conn:
            user = users.get_user_by_name(conn, username)
            if user is None:
                raise NotFound(f"user {username!r} does not exist")
            if values:
                users.update_user(conn, user.id, **values)
            updated = users.get_user(conn, user.id)
        assert updated is not None
        return updated

    def list_users(self) -> list[UserRecord]:
        with self._engine.connect() as conn:
            return users.list_users(conn)

    def user_count(self) -> int:
        with self._engine.connect() as conn:
            return users.user_count(conn)

    # ---- sessions ---------------------------------------------------------------------------------

    def open_session(self, user: UserRecord) -> str:
        """A signed cookie value for ``user``."""
        return self._sessions.dumps({"u": user.id, "n": secrets.token_urlsafe(16)})

    def session_principal(self, cookie: str | None) -> Principal | None:
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=self.session_max_age_s)
        except BadSignature:
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("u"), int)
            or not isinstance(data.get("n"), str)
        ):
            return None
        with self._engine.connect() as conn:
            user = users.get_user(conn, data["u"])
        if user is None or user.disabled:
            return None
        return Principal(user.id, user.username, Role.parse(user.role), "session", self._csrf_for(data["n"]))

    def _csrf_for(self, nonce: str) -> str:
        return hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def csrf_matches(principal: Principal, presented: str | None) -> bool:
        return bool(
            presented and principal.csrf_token and hmac.compare_digest(principal.csrf_token, presented)
        )

    # ---- bearer tokens ----------------------------------------------------------------------------

    def issue_token(self, user_id: int, name: str) -> str:
        """A new token for ``user_id``; the plain text is returned once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            users.create_token(
                conn,
                user_id=user_id,
                name=name[:100] or "token",
                token_hash=_sha256(token),
                now=self._clock(),
            )
        return token

    def token_principal(self, token: str | None) -> Principal | None:
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        with self._engine.begin() as conn:
            found = users.find_token(conn, _sha256(token))
            if found is None:
                return None
            record, user = found
            if user.disabled:
                return None
            users.touch_token(conn, record.id, self._clock())
        return Principal(user.id, user.username, Role.parse(user.role), "token")

    def list_tokens(self, user_id: int) -> list[TokenRecord]:
        with self._engine.connect() as conn:
            return users.list_tokens(conn, user_id)

    def revoke_token(self, user_id: int, token_id: int) -> None:
        with self._engine.begin() as conn:
            if not users.delete_token(conn, token_id, user_id):
                raise NotFound(f"token {token_id} does not exist")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
