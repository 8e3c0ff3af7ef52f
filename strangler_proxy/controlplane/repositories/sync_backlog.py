"""Live sync backlogs, read from the outbox and inbox tables themselves (never from a cached figure).

An event written by one side has reached the other when the other side's inbox names it:

* forward (legacy -> a service): the monolith's ``outbox_event`` against the sync database's
  ``sync_inbox`` rows of that service's consumer (every delivered event gets one, applied or not);
* reverse (a service -> legacy): the service's ``service_outbox`` against the monolith's inbox of
  applied events (``internal_applied_event``); an event set aside in the service's
  ``service_dead_letter`` will never be delivered and does not count.

The outbox is scanned newest first, a chunk at a time, until a chunk whose events have all arrived (or
``max_rows``): the events behind the newest applied chunk were applied before it. The control plane does
not import ``acl``; the few columns read are named here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, Engine, String, column, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError

__all__ = [
    "LEGACY_INBOX",
    "Unapplied",
    "forward_unapplied",
    "reverse_unapplied",
]

LEGACY_INBOX = "internal_applied_event"
"""The monolith's inbox of applied reverse-sync events (one row per event id)."""

_CHUNK = 500
_SAMPLE = 50


@dataclass(frozen=True, slots=True)
class Unapplied:
    """Events one side wrote that the other has not applied yet (``events``: up to 50 ids, newest first)."""

    count: int
    events: tuple[str, ...]
    scanned: int


def _canonical(value: object) -> str:
    return str(uuid.UUID(str(value)))


def _bind_ids(conn: Connection, ids: list[str], *, uuid_column: bool) -> list[str]:
    """Event ids as the column stores them: Django keeps a UUID as 32 hex digits on SQLite."""
    if uuid_column and conn.dialect.name == "sqlite":
        return [uuid.UUID(event_id).hex for event_id in ids]
    return ids


def _present(
    conn: Connection, name: str, ids: list[str], *, uuid_column: bool, where: dict[str, str] | None = None
) -> set[str]:
    if not inspect(conn).has_table(name):
        return set()  # no inbox yet: nothing arrived
    event_id = column("event_id", String)
    inbox = table(name, event_id, *(column(key, String) for key in (where or {})))
    query = (
        select(event_id).select_from(inbox).where(event_id.in_(_bind_ids(conn, ids, uuid_column=uuid_column)))
    )
    for key, wanted in (where or {}).items():
        query = query.where(column(key, String) == wanted)
    return {_canonical(found) for found in conn.scalars(query)}


def _scan(
    source: Engine, outbox: str, *, arrived: Callable[[list[str]], set[str]], max_rows: int
) -> Unapplied:
    id_, event_id = column("id", BigInteger), column("event_id", String)
    rows_table = table(outbox, id_, event_id)
    count, scanned = 0, 0
    sample: list[str] = []
    before: int | None = None
    with source.connect() as conn:
        if not inspect(conn).has_table(outbox):
            return Unapplied(0, (), 0)  # that side never wrote a change
        while scanned < max_rows:
            query = select(id_, event_id).select_from(rows_table).order_by(id_.desc()).limit(_CHUNK)
            if before is not None:
                query = query.where(id_ < before)
            rows = conn.execute(query).all()
            if not rows:
                break
            scanned += len(rows)
            ids = [_canonical(row.event_id) for row in rows]
            done = arrived(ids)
            missing = [event for event in ids if event not in done]
            count += len(missing)
            sample.extend(missing[: max(0, _SAMPLE - len(sample))])
            if not missing:
                break
            before = rows[-1].id
    return Unapplied(count, tuple(sample), scanned)


def forward_unapplied(legacy: Engine, sync: Engine, consumer: str, *, max_rows: int = 20_000) -> Unapplied:
    """The monolith's events that ``consumer`` has not taken yet. Raises SQLAlchemyError when unreadable."""

    def arrived(ids: list[str]) -> set[str]:
        with sync.connect() as conn:
            return _present(conn, "sync_inbox", ids, uuid_column=False, where={"consumer": consumer})

    return _scan(legacy, "outbox_event", arrived=arrived, max_rows=max_rows)


def reverse_unapplied(service: Engine, legacy: Engine, *, max_rows: int = 20_000) -> Unapplied:
    """The service's events the monolith has not applied yet (dead letters excepted)."""

    def arrived(ids: list[str]) -> set[str]:
        with legacy.connect() as conn:
            applied = _present(conn, LEGACY_INBOX, ids, uuid_column=True)
        return applied | _dead(service, [event for event in ids if event not in applied])

    return _scan(service, "service_outbox", arrived=arrived, max_rows=max_rows)


def _dead(service: Engine, ids: Iterable[str]) -> set[str]:
    wanted = list(ids)
    if not wanted:
        return set()
    try:
        with service.connect() as conn:
            return _present(conn, "service_dead_letter", wanted, uuid_column=False)
    except SQLAlchemyError:
        return set()  # no dead letters yet: the relay creates the table with the first one
