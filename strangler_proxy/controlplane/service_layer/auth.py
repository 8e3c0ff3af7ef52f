"""Users and their passwords (argon2id), checked through the login throttle (``throttle.py``).

Sessions live in ``sessions.py``, API tokens in ``tokens.py``, roles in ``roles.py``. A change of a
user's password, role or enabled state bumps its generation, which ends every session and token it had.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from strangler_proxy.controlplane.errors import BadRequest, Conflict, NotFound
from strangler_proxy.controlplane.repositories import users
from strangler_proxy.controlplane.repositories.users import UserRecord
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow
from strangler_proxy.controlplane.service_layer.roles import Principal, Role
from strangler_proxy.controlplane.service_layer.throttle import LoginThrottle

__all__ = ["USERNAME", "AuthService", "LoginThrottle", "Principal", "Role", "valid_username"]


USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
"""User names: a letter or digit, then letters, digits and ``._@-``, 64 characters at most."""
MAX_PASSWORD_CHARS = 1024
MAX_USERNAME_CHARS = 150
"""What the store holds; names created before the alphabet may be this long."""
INVALID_NAME_KEY = "(not a user name)"
"""The one throttle key every login attempt with a name outside the alphabet counts under."""


def valid_username(username: str) -> bool:
    return USERNAME.fullmatch(username) is not None


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

    def check_password(self, username: str, password: str, address: str | None = None) -> UserRecord | None:
        """The user when ``password`` is right and the account enabled, else None.

        Raises TooManyRequests when the throttle refuses ``username`` from ``address`` (the attempt is
        reserved there before the password is hashed, see ``throttle.py``).
        """
        key = username if valid_username(username) else INVALID_NAME_KEY
        attempt = self.throttle.reserve(key, address)
        user = None
        if len(username) <= MAX_USERNAME_CHARS and len(password) <= MAX_PASSWORD_CHARS:
            # names from before the alphabet existed still sign in (counted under the shared key)
            with self._engine.connect() as conn:
                user = users.get_user_by_name(conn, username)
        if user is None:
            self._hasher.hash(password[:MAX_PASSWORD_CHARS])  # the same cost whether or not the user exists
            self.throttle.settle(attempt, succeeded=False)
            return None
        try:
            self._hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            self.throttle.settle(attempt, succeeded=False)
            return None
        if user.disabled:
            self.throttle.settle(attempt, succeeded=False)
            return None
        self.throttle.settle(attempt, succeeded=True)
        if self._hasher.check_needs_rehash(user.password_hash):
            with self._engine.begin() as conn:
                users.update_user(conn, user.id, password_hash=self._hasher.hash(password))
        return user

    def create_user(self, username: str, password: str, role: Role) -> UserRecord:
        if not valid_username(username):
            raise BadRequest(
                f"{username[:70]!r} is not a user name: 1 to 64 letters, digits and . _ @ -, "
                "starting with a letter or digit"
            )
        _check_password_length(password)
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
        if password is not None:
            _check_password_length(password)
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


def _check_password_length(password: str) -> None:
    if not 12 <= len(password) <= MAX_PASSWORD_CHARS:
        raise BadRequest(f"a password has 12 to {MAX_PASSWORD_CHARS} characters")
