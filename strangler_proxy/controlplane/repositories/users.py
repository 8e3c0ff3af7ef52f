"""Users (with a role) and their API tokens (stored as SHA-256 hashes only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from strangler_proxy.store.schema import api_tokens, users

__all__ = [
    "TokenRecord",
    "UserRecord",
    "create_token",
    "create_user",
    "delete_token",
    "find_token",
    "get_token",
    "get_user",
    "get_user_by_name",
    "list_tokens",
    "list_users",
    "touch_token",
    "update_user",
    "user_count",
]


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    password_hash: str
    role: str
    disabled: bool
    created_at: datetime
    generation: int = 0
    """Bumped whenever the password, role or enabled state changes; sessions and tokens carry the value
    they were issued under and are worthless once it moves on."""

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    scope: str
    expires_at: datetime | None
    generation: int
    username: str = ""

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "user": self.username,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


def _token(row: Any, username: str = "") -> TokenRecord:
    return TokenRecord(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        scope=row.scope,
        expires_at=row.expires_at,
        generation=row.generation,
        username=username,
    )


def _user(row) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        role=row.role,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        generation=row.generation,
    )


def user_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(users)).scalar_one()


def create_user(conn: Connection, *, username: str, password_hash: str, role: str, now: datetime) -> int:
    return conn.execute(
        insert(users)
        .values(username=username, password_hash=password_hash, role=role, disabled=False, created_at=now)
        .returning(users.c.id)
    ).scalar_one()


def get_user(conn: Connection, user_id: int) -> UserRecord | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def get_user_by_name(conn: Connection, username: str) -> UserRecord | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[UserRecord]:
    return [_user(row) for row in conn.execute(select(users).order_by(users.c.username))]


def update_user(conn: Connection, user_id: int, *, end_sessions: bool = False, **values: object) -> bool:
    """Change a user's columns; ``end_sessions`` also bumps its generation, ending every session and token."""
    statement = update(users).where(users.c.id == user_id).values(**values)
    if end_sessions:
        statement = statement.values(generation=users.c.generation + 1)
    return conn.execute(statement).rowcount == 1


def create_token(
    conn: Connection,
    *,
    user_id: int,
    name: str,
    token_hash: str,
    now: datetime,
    scope: str,
    expires_at: datetime,
    generation: int,
) -> int:
    return conn.execute(
        insert(api_tokens)
        .values(
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            created_at=now,
            scope=scope,
            expires_at=expires_at,
            generation=generation,
        )
        .returning(api_tokens.c.id)
    ).scalar_one()


def find_token(conn: Connection, token_hash: str) -> tuple[TokenRecord, UserRecord] | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash)).first()
    if row is None:
        return None
    user = get_user(conn, row.user_id)
    if user is None:
        return None
    return _token(row, user.username), user


def touch_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def list_tokens(conn: Connection, user_id: int | None) -> list[TokenRecord]:
    """The tokens of ``user_id`` (every user's when None), oldest first."""
    statement = (
        select(api_tokens, users.c.username)
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.id)
    )
    if user_id is not None:
        statement = statement.where(api_tokens.c.user_id == user_id)
    return [_token(row, row.username) for row in conn.execute(statement)]


def get_token(conn: Connection, token_id: int) -> TokenRecord | None:
    row = conn.execute(
        select(api_tokens, users.c.username)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.id == token_id)
    ).first()
    return None if row is None else _token(row, row.username)


def delete_token(conn: Connection, token_id: int) -> bool:
    return conn.execute(delete(api_tokens).where(api_tokens.c.id == token_id)).rowcount == 1
