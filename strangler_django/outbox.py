"""``record_event``: append an outbox event inside the business change's transaction.

The event row commits with the change or not at all (the relay only ever sees committed rows), so no
``on_commit`` hook is needed and none can lose it; outside a transaction ``record_event`` refuses, since
the change and its event could then be split by a crash.

Written during a traced request, the row keeps the request's W3C trace context in its payload (under
``_trace``; the table has no column for it): the relay takes it out again and the sync consumers'
apply continues that trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from strangler_django.models import OutboxEvent
from strangler_django.sync_positions import committed_event
from strangler_django.tracing import current_trace_context

__all__ = ["TRACE_KEY", "last_outbox_sequences", "last_sequences", "own_origin", "record_event", "utc_now"]

TRACE_KEY = "_trace"
"""Where a row's payload keeps the trace context (the relay's contract, as for a service's outbox)."""

_KEYS_PER_QUERY = 200


def own_origin() -> str:
    """The origin tag of changes made in this monolith (``STRANGLER_ORIGIN``, default "legacy")."""
    return str(getattr(settings, "STRANGLER_ORIGIN", "legacy"))


def utc_now() -> datetime:
    """Now in UTC, as the outbox columns store it: aware under ``USE_TZ`` (Django writes UTC), else naive."""
    now = datetime.now(UTC)
    return now if settings.USE_TZ else now.replace(tzinfo=None)


def record_event(
    aggregate: str,
    aggregate_id: int | str,
    event_type: str,
    payload: dict[str, Any],
    *,
    origin: str | None = None,
    sequence: int | None = None,
) -> OutboxEvent:
    """Append one event; the per-aggregate sequence continues from the last one.

    Call it inside the transaction of the change it describes (``transaction.atomic``): it refuses
    otherwise. Lock the aggregate's row first (``select_for_update``, or an ``UPDATE``) so that
    concurrent writers get consecutive sequences. A caller that already knows the next ``sequence``
    (read under that lock) passes it and saves the query. ``payload`` must be JSON-serialisable.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox events must be recorded inside the business change's transaction")
    key = str(aggregate_id)
    if sequence is None:
        last = (
            OutboxEvent.objects.filter(aggregate_type=aggregate, aggregate_id=key)
            .order_by("-sequence")
            .values_list("sequence", flat=True)
            .first()
        )
        sequence = (last or 0) + 1
    trace = current_trace_context()
    if trace:
        payload = {**payload, TRACE_KEY: trace}
    event = OutboxEvent.objects.create(
        aggregate_type=aggregate,
        aggregate_id=key,
        sequence=sequence,
        event_type=event_type,
        payload=payload,
        occurred_at=utc_now(),
        origin=origin or own_origin(),
    )
    committed_event(event.event_id)
    return event


def last_sequences(
    table: str, columns: tuple[str, ...], keys: Sequence[tuple[str, ...]], *, applied_only: bool = False
) -> dict[tuple[str, ...], int]:
    """The last ``sequence`` of each key (values of ``columns``) that has one in ``table``.

    One row of scalar subqueries per chunk of keys; each reads the newest entries of its key from the
    table's (key columns, sequence) index, as a per-key query would, so the cost does not grow with the
    key's history. ``applied_only`` counts only inbox rows whose outcome was "applied".
    """
    q = connection.ops.quote_name
    sequence = q("sequence")
    where = " AND ".join(f"{q(column)} = %s" for column in columns)
    if applied_only:
        where += f" AND {q('outcome')} = 'applied'"
    one = f"(SELECT {sequence} FROM {q(table)} WHERE {where} ORDER BY {sequence} DESC LIMIT 1)"
    found: dict[tuple[str, ...], int] = {}
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join([one] * len(chunk)), [part for key in chunk for part in key])
            row = cursor.fetchone()
        found.update((key, int(last)) for key, last in zip(chunk, row, strict=True) if last is not None)
    return found


def last_outbox_sequences(aggregate: str, ids: Sequence[str]) -> dict[str, int]:
    """The last outbox sequence of each of ``aggregate``'s ``ids`` that has events (for appliers' batches)."""
    found = last_sequences(
        OutboxEvent._meta.db_table, ("aggregate_type", "aggregate_id"), [(aggregate, i) for i in ids]
    )
    return {key[1]: last for key, last in found.items()}
