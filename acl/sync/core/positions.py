"""Read-your-writes across the seam, the services' half (``strangler_django.sync_positions`` is the
monolith's).

* :func:`collecting` / :func:`collected`: while a request is served, the ids of the events it recorded in
  the service's outbox (``record_service_event`` notes each one), for the answer's
  ``X-Strangler-Sync-Events`` header; the data plane makes the client's next read on the monolith wait
  until the monolith has applied them.
* :func:`arrived`: which of the monolith's events a service's forward consumer has taken (its inbox in
  the sync database), for the service's ``GET /_strangler/sync/arrived``.

A service hands both to the kit's ``install_sync_positions`` (the kit imports no acl).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Engine, inspect, select

from acl.sync.core.tables import sync_inbox

__all__ = [
    "arrived",
    "collected",
    "collecting",
    "note_event",
]

_events: ContextVar[list[str] | None] = ContextVar("acl_sync_recorded_events", default=None)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the events recorded inside the block (one request) into the list it yields."""
    found: list[str] = []
    token = _events.set(found)
    try:
        yield found
    finally:
        _events.reset(token)


def note_event(event_id: str) -> None:
    """Called for every event written to the service's outbox; nothing happens outside :func:`collecting`."""
    found = _events.get()
    if found is not None:
        found.append(event_id)


def collected() -> list[str]:
    """The events recorded so far in the current request (empty outside :func:`collecting`)."""
    return list(_events.get() or ())


def arrived(sync: Engine, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` the forward consumer ``consumer`` has taken (every event it was delivered
    gets an inbox row, applied or ignored). None have before the sync database has its inbox."""
    with sync.connect() as connection:
        if not inspect(connection).has_table(sync_inbox.name):
            return set()
        rows: Iterable[object] = connection.scalars(
            select(sync_inbox.c.event_id).where(
                sync_inbox.c.consumer == consumer, sync_inbox.c.event_id.in_(list(event_ids))
            )
        )
        return {str(uuid.UUID(str(found))) for found in rows}
