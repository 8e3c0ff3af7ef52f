"""Tables sync reads or owns (SQLAlchemy Core).

* ``outbox_event`` lives in the monolith's database (its Django app creates it); the relay reads it.
* ``service_outbox`` has the same shape for a service's own database: the service writes it in the
  transaction of its change (``record_service_event``) and the reverse relay sends it to the monolith.
* ``service_dead_letter`` (``dead_letter_metadata``, in the service's database next to its outbox)
  keeps the events the monolith refused for good, with the reason; the reverse relay creates it when
  it first sets an event aside (the services' own migrations do not manage it).
* the sync database (``sync_metadata``) holds the SQL stream, consumer offsets, the inbox with the
  last applied sequence per aggregate, backfill checkpoints, the latest lag figures (``sync_lag``) and
  the number of dead events per reverse direction (``sync_dead``); those two are defined in
  ``strangler_proxy.sync_status``, which the control plane reads them by.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from strangler_proxy.sync_status import sync_dead as shared_sync_dead
from strangler_proxy.sync_status import sync_lag as shared_sync_lag

__all__ = [
    "dead_letter_metadata",
    "legacy_outbox_metadata",
    "outbox_event",
    "service_dead_letter",
    "service_outbox",
    "service_outbox_metadata",
    "sync_aggregates",
    "sync_checkpoints",
    "sync_dead",
    "sync_inbox",
    "sync_lag",
    "sync_metadata",
    "sync_offsets",
    "sync_stream",
]

legacy_outbox_metadata = MetaData()
service_outbox_metadata = MetaData()
dead_letter_metadata = MetaData()
sync_metadata = MetaData()


def _outbox_columns() -> list[Column]:
    return [
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("aggregate_type", String(30), nullable=False),
        Column("aggregate_id", String(40), nullable=False),
        Column("sequence", Integer, nullable=False),
        Column("event_type", String(50), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("occurred_at", DateTime, nullable=False),  # naive UTC
        Column("origin", String(40), nullable=False),
        Column("published_at", DateTime, nullable=True, index=True),
    ]


outbox_event = Table("outbox_event", legacy_outbox_metadata, *_outbox_columns())

service_outbox = Table(
    "service_outbox",
    service_outbox_metadata,
    *_outbox_columns(),
    UniqueConstraint("aggregate_type", "aggregate_id", "sequence", name="uq_service_outbox_sequence"),
)

service_dead_letter = Table(
    "service_dead_letter",
    dead_letter_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("aggregate_type", String(30), nullable=False),
    Column("aggregate_id", String(40), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("event_type", String(50), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", DateTime, nullable=False),  # naive UTC
    Column("origin", String(40), nullable=False),
    Column("reason", Text, nullable=False),  # the monolith's answer (JSON text)
    Column("refused_at", DateTime, nullable=False),  # naive UTC, the last refusal
    Column("attempts", Integer, nullable=False),
)

sync_stream = Table(
    "sync_stream",
    sync_metadata,
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("stream", String(60), nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", DateTime, nullable=False),  # naive UTC, for lag figures without parsing
    Column("body", Text, nullable=False),
    UniqueConstraint("stream", "event_id", name="uq_sync_stream_event"),
)

sync_offsets = Table(
    "sync_offsets",
    sync_metadata,
    Column("consumer", String(60), primary_key=True),
    Column("stream", String(60), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

sync_inbox = Table(
    "sync_inbox",
    sync_metadata,
    Column("consumer", String(60), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("outcome", String(10), nullable=False),
    Column("occurred_at", DateTime, nullable=False),  # naive UTC
    Column("applied_at", DateTime, nullable=False, index=True),  # naive UTC
)

sync_aggregates = Table(
    "sync_aggregates",
    sync_metadata,
    Column("consumer", String(60), primary_key=True),
    Column("aggregate_type", String(30), primary_key=True),
    Column("aggregate_id", String(40), primary_key=True),
    Column("sequence", Integer, nullable=False),
)

sync_checkpoints = Table(
    "sync_checkpoints",
    sync_metadata,
    Column("name", String(60), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
    Column("done", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# The status tables are defined once, in the shared core, for the control plane to read them too; the
# sync database holds copies of them (acl.sync creates them with the rest, see create_sync_schema).
sync_lag = shared_sync_lag.to_metadata(sync_metadata)
sync_dead = shared_sync_dead.to_metadata(sync_metadata)
