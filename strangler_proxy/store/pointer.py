"""The active-version pointer: the one row of ``active_route_table`` that says which route table serves.

The control plane is its only writer (``strangler_proxy.controlplane.repositories.versions`` swaps it by
compare-and-swap through SQLAlchemy); data-plane workers read it through the DB-API driver
(``strangler_proxy.dataplane.store_client``), without SQLAlchemy. Both hand out an
:class:`ActivePointer`, so this module imports nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["POINTER_ID", "ActivePointer"]

POINTER_ID = 1
"""The id of the single row of ``active_route_table``."""


@dataclass(frozen=True, slots=True)
class ActivePointer:
    """The row as the store gives it back (``changed_at`` is naive UTC on SQLite, aware on PostgreSQL)."""

    version_id: int
    generation: int
    """Incremented on every swap, rollbacks included: a reader that applied it needs nothing new."""
    changed_at: datetime
    previous_version_id: int | None
    """The version active before this swap: what a rollback returns to."""
