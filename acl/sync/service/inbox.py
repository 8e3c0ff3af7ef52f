"""``service_inbox``: in a service's own database, the monolith's events its forward sync has applied.

The service kit's ``ForwardInbox`` (its ``forward_inbox`` module) writes a row in the transaction of
each change it applies, and reads it to drop a redelivered event (by id) or a stale one (its sequence
not above the last applied of its stream: origin, aggregate type, aggregate id). A scaffolded service's
migration creates it with ``create_service_inbox``, as ``service_outbox`` with ``create_service_outbox``.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, String, Table

__all__ = ["create_service_inbox", "service_inbox", "service_inbox_metadata"]

service_inbox_metadata = MetaData()

service_inbox = Table(
    "service_inbox",
    service_inbox_metadata,
    Column("event_id", String(36), primary_key=True),
    Column("origin", String(40), nullable=False),
    Column("aggregate_type", String(30), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("applied_at", DateTime, nullable=False),
    Index("ix_service_inbox_stream", "origin", "aggregate_type", "aggregate_id", "sequence"),
)


def create_service_inbox(connection: Connection) -> None:
    """Create ``service_inbox`` and its index when missing."""
    service_inbox_metadata.create_all(connection, checkfirst=True)
