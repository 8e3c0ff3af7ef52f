"""The sync database's status tables, ``sync_lag`` and ``sync_dead``: the one definition of their columns.

The sync workers (``acl.sync``) write them; the control plane reads them without importing ``acl``.
Both take the tables from here: the control plane as they are, ``acl.sync.core.tables`` as copies placed in
the sync database's ``sync_metadata``. ``acl.sync`` owns their creation and any change to them: its
``create_sync_schema`` creates them with the rest of the sync database when a sync worker starts.

``sync_lag`` has one row per direction: ``forward`` (legacy -> services), ``reverse`` (the catalog's
reverse relay) and ``reverse:<service>`` for every other service's reverse relay, each with its latest
lag, backlog and the time of that measure. ``sync_dead`` counts, per reverse direction, the events the
monolith refused for good (the relay's dead letters).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table

__all__ = ["DIRECTION_MAX", "sync_dead", "sync_lag", "sync_status_metadata"]

DIRECTION_MAX = 20
"""The longest direction name the tables hold."""

sync_status_metadata = MetaData()

sync_lag = Table(
    "sync_lag",
    sync_status_metadata,
    # "forward" (legacy -> services) | "reverse" (catalog -> legacy) | "reverse:<service>"
    Column("direction", String(DIRECTION_MAX), primary_key=True),
    Column("lag_ms", Float, nullable=False),
    Column("backlog", Integer, nullable=False),
    Column("measured_at", DateTime, nullable=False),  # naive UTC
)

sync_dead = Table(
    "sync_dead",
    sync_status_metadata,
    Column("direction", String(DIRECTION_MAX), primary_key=True),  # a reverse direction, as in sync_lag
    Column("dead", Integer, nullable=False),  # events in the service's dead letters
    Column("measured_at", DateTime, nullable=False),  # naive UTC
)
