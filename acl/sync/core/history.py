"""What reconciling against the truth needs of any aggregate: which of some event ids a table holds.

Each pipeline's history check (a module of its own package) compares each side's outbox against the
other side's record of applying it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, select

__all__ = ["present_event_ids"]

_CHUNK = 500


def present_event_ids(engine: Engine, id_column: Any, ids: list[str], *, as_uuid: bool = False) -> set[str]:
    """Those of the event ids ``ids`` found in ``id_column`` (a ``Uuid``-typed column, as Django's on
    every database: ``as_uuid``; else text with dashes)."""
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            wanted: list[Any] = [uuid.UUID(i) for i in chunk] if as_uuid else chunk
            values: list[Any] = list(conn.scalars(select(id_column).where(id_column.in_(wanted))))
            found |= {str(uuid.UUID(str(value))) for value in values}
    return found
