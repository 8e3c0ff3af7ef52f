"""Users (with a role) and their API tokens (stored as SHA-256 hashes only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from strangler_proxy.store.schema import api_tokens, users

__all__ = [
    "TokenRecord",
    "UserRecord",
    "create_token",
    "create_user",
    "delete_token",
    "find_token",
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


def _user(row) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        role=row.role,
        disabled=bool(row.disabled),
        created_at=row.created_at,
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


def update_user(conn: Connection, user_id: int, **values: object) -> bool:
    return conn.execute(update(users).where(users.c.id == user_id).values(**values)).rowcount == 1


def create_token(conn: Connection, *, user_id: int, name: str, token_hash: str, now: datetime) -> int:
    return conn.execute(
        insert(api_tokens)
        .values(user_id=user_id, name=name, token_hash=token_hash, created_at=now)
        .returning(api_tokens.c.id)
    ).scalar_one()


def find_token(conn: Connection, token_hash: str) -> tuple[TokenRecord, UserRecord] | None:
    row = conn.execute(
        select(api_tokens, users.c.username)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    user = get_user(conn, row.user_id)
    if user is None:
        return None
    return TokenRecord(row.id, row.user_id, row.name, row.created_at, row.last_used_at), user


def touch_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def list_tokens(conn: Connection, user_id: int) -> list[TokenRecord]:
    rows = conn.execute(select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id))
    return [TokenRecord(r.id, r.user_id, r.name, r.created_at, r.last_used_at) for r in rows]


def delete_token(conn: Connection, token_id: int, user_id: int) -> bool:
    stmt = delete(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id)
    return conn.execute(stmt).rowcount == 1
