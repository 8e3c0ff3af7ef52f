"""Guard rules per route (absent: the defaults apply)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from strangler_proxy.store.schema import guard_rules

__all__ = ["GuardRuleRow", "get_rule", "list_rules", "save_rule"]

GuardRuleRow = tuple[dict[str, Any], bool]
"""(settings, enabled)"""


def list_rules(conn: Connection) -> dict[str, GuardRuleRow]:
    return {
        row.route: (dict(row.settings or {}), bool(row.enabled)) for row in conn.execute(select(guard_rules))
    }


def get_rule(conn: Connection, route: str) -> GuardRuleRow | None:
    row = conn.execute(select(guard_rules).where(guard_rules.c.route == route)).first()
    return None if row is None else (dict(row.settings or {}), bool(row.enabled))


def save_rule(
    conn: Connection, route: str, *, settings: dict[str, Any], enabled: bool, now: datetime
) -> None:
    values = {"settings": settings, "enabled": enabled, "updated_at": now}
    if conn.execute(update(guard_rules).where(guard_rules.c.route == route).values(**values)).rowcount == 0:
        conn.execute(insert(guard_rules).values(route=route, **values))
