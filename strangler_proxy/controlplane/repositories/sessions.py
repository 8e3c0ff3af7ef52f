"""Server-side sessions: one row per open session, keyed by the SHA-256 of the cookie's random id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from strangler_proxy.store.schema import sessions

__all__ = ["SessionRecord", "create_session", "delete_expired", "delete_session", "find_session"]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id_hash: str
    user_id: int
    generation: int
    created_at: datetime
    expires_at: datetime


def create_session(
    conn: Connection,
    *,
    id_hash: str,
    user_id: int,
    generation: int,
    now: datetime,
    expires_at: datetime,
    address: str | None,
) -> None:
    conn.execute(
        insert(sessions).values(
            id_hash=id_hash,
            user_id=user_id,
            generation=generation,
            created_at=now,
            expires_at=expires_at,
            address=(address or "")[:64] or None,
        )
    )


def find_session(conn: Connection, id_hash: str) -> SessionRecord | None:
    row = conn.execute(select(sessions).where(sessions.c.id_hash == id_hash)).first()
    if row is None:
        return None
    return SessionRecord(row.id_hash, row.user_id, row.generation, row.created_at, row.expires_at)


def delete_session(conn: Connection, id_hash: str) -> bool:
    return conn.execute(delete(sessions).where(sessions.c.id_hash == id_hash)).rowcount == 1


def delete_expired(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount
