"""The upstream registry: every upstream a route table may name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from strangler_proxy.routes import Upstream
from strangler_proxy.store.schema import upstreams

__all__ = ["delete_upstream", "get_upstream", "list_upstreams", "registry", "save_upstream"]


def _upstream(row) -> Upstream:
    return Upstream.model_validate({"name": row.name, "url": row.url, **(row.settings or {})})


def list_upstreams(conn: Connection) -> list[Upstream]:
    return [_upstream(row) for row in conn.execute(select(upstreams).order_by(upstreams.c.name))]


def registry(conn: Connection) -> dict[str, Upstream]:
    return {u.name: u for u in list_upstreams(conn)}


def get_upstream(conn: Connection, name: str) -> Upstream | None:
    row = conn.execute(select(upstreams).where(upstreams.c.name == name)).first()
    return None if row is None else _upstream(row)


def save_upstream(conn: Connection, upstream: Upstream, *, now: datetime) -> bool:
    """Insert or update; return True when it was new."""
    settings = upstream.model_dump(mode="json", exclude={"name", "url"})
    changed = conn.execute(
        update(upstreams).where(upstreams.c.name == upstream.name).values(url=upstream.url, settings=settings)
    ).rowcount
    if changed:
        return False
    conn.execute(
        insert(upstreams).values(name=upstream.name, url=upstream.url, settings=settings, created_at=now)
    )
    return True


def delete_upstream(conn: Connection, name: str) -> bool:
    return conn.execute(delete(upstreams).where(upstreams.c.name == name)).rowcount == 1
