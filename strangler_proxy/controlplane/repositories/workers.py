"""Reads of dataplane_workers: which route-table version each data-plane worker serves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from strangler_proxy.store.schema import dataplane_workers

__all__ = ["list_workers"]


def list_workers(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(dataplane_workers).order_by(dataplane_workers.c.worker))
    return [
        {
            "worker": row.worker,
            "pid": row.pid,
            "version": row.version_id,
            "generation": row.generation,
            "applied_at": row.applied_at.isoformat() if row.applied_at else None,
            "heartbeat_at": row.heartbeat_at.isoformat(),
        }
        for row in rows
    ]
