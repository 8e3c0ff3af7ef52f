"""Users and their passwords (argon2id), and the login throttle.

Sessions live in ``sessions.py``, API tokens in ``tokens.py``, roles in ``roles.py``. A change of a
user's password, role or enabled state bumps its generation, which ends every session and token it had.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import BadRequest, Conflict, NotFound, TooManyRequests
from strangler_proxy.controlplane.repositories import users
from strangler_proxy.controlplane.repositories.users import UserRecord
from strangler_proxy.controlplane.services.clock import Clock, utcnow
from strangler_proxy.controlplane.services.roles import Principal, Role

__all__ = ["AuthService", "LoginThrottle", "Principal", "Role"]


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


class AuthService:
    def __init__(
        self, engine: Engine, *, clock: Clock = utcnow, hasher: PasswordHasher | None = None
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
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
        """Change a user; a new password, role or enabled state ends every session and token it had."""
        if password is not None and len(password) < 12:
            raise BadRequest("a password has at least 12 characters")
        with self._engine.begin() as conn:
            user = users.get_user_by_name(conn, username)
            if user is None:
                raise NotFound(f"user {username!r} does not exist")
            values: dict[str, object] = {}
            if role is not None and role.label != user.role:
                values["role"] = role.label
            if disabled is not None and disabled != user.disabled:
                values["disabled"] = disabled
            if password is not None:
                values["password_hash"] = self.hash_password(password)
            if values:
                users.update_user(conn, user.id, end_sessions=True, **values)
            updated = users.get_user(conn, user.id)
        assert updated is not None
        return updated

    def get_user(self, user_id: int) -> UserRecord:
        with self._engine.connect() as conn:
            user = users.get_user(conn, user_id)
        if user is None:
            raise NotFound(f"user {user_id} does not exist")
        return user

    def get_user_by_name(self, username: str) -> UserRecord:
        with self._engine.connect() as conn:
            user = users.get_user_by_name(conn, username)
        if user is None:
            raise NotFound(f"user {username!r} does not exist")
        return user

    def list_users(self) -> list[UserRecord]:
        with self._engine.connect() as conn:
            return users.list_users(conn)

    def user_count(self) -> int:
        with self._engine.connect() as conn:
            return users.user_count(conn)
