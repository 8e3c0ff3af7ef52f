"""Versions of aggregates whose changes do not commute, and the conflict check of their reverse events.

A status set on one side while the other side changed the same aggregate must not silently overwrite
that change. So each side counts the changes it applied to such an aggregate, its own and the other
side's (``AggregateVersion``); every event carries the version its change made, and the other side
applies it only when its own count is one behind. Otherwise the change is parked in ``sync_conflict``
with both values, nothing is changed, and an operator resolves it::

    version = event_version(event.payload, "inv_ver")
    if version is not None and not expect_version(
        event, version, aggregate_id=invoice.pk, field="paid", ours=invoice.paid, theirs=True
    ):
        return "conflict"
    ...  # change the row, then record its outbox event with aggregate_version_next(...) in it

Call these inside the batch's transaction, with the aggregate's row locked (as every writer locks it).
"""

from __future__ import annotations

import json
from typing import Any

from strangler_django.appliers import ReverseEvent, ReverseEventError
from strangler_django.models import AggregateVersion, SyncConflict
from strangler_django.outbox import utc_now

__all__ = ["aggregate_version", "aggregate_version_next", "event_version", "expect_version"]


def aggregate_version(aggregate_type: str, aggregate_id: int | str) -> int:
    """The count of changes applied here to the aggregate (0 before the first)."""
    found = AggregateVersion.objects.filter(
        aggregate_type=aggregate_type, aggregate_id=str(aggregate_id)
    ).values_list("version", flat=True)
    return int(next(iter(found), 0))


def aggregate_version_next(aggregate_type: str, aggregate_id: int | str) -> int:
    """Count one more change of the aggregate (inside the change's transaction); the version now."""
    row = (
        AggregateVersion.objects.select_for_update()
        .filter(aggregate_type=aggregate_type, aggregate_id=str(aggregate_id))
        .first()
    )
    if row is None:
        AggregateVersion.objects.create(
            aggregate_type=aggregate_type, aggregate_id=str(aggregate_id), version=1
        )
        return 1
    row.version += 1
    row.save(update_fields=["version"])
    return int(row.version)


def event_version(payload: dict[str, Any], field: str) -> int | None:
    """The version an event's change made (``payload[field]``), None when it carries none (an event of a
    side that does not count versions: applied as before, last state wins)."""
    value = payload.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ReverseEventError(field, f"{field} must be an integer >= 1.")
    return value


def expect_version(
    event: ReverseEvent, version: int, *, aggregate_id: int | str, field: str, ours: Any, theirs: Any
) -> bool:
    """True when the change may be applied (this side's version is ``version - 1``, or it never counted a
    change of the aggregate: then it takes the change's count); else the change is parked in
    ``sync_conflict`` with this side's value (``ours``) and the change's (``theirs``), and False."""
    found = AggregateVersion.objects.filter(
        aggregate_type=event.aggregate_type, aggregate_id=str(aggregate_id)
    )
    row = found.select_for_update().first()
    if row is None:
        # Never changed here since versions are counted: nothing to overwrite. Counted from the change's.
        if version > 1:
            AggregateVersion.objects.create(
                aggregate_type=event.aggregate_type, aggregate_id=str(aggregate_id), version=version - 1
            )
        return True
    current = int(row.version)
    if current == version - 1:
        return True
    reason = f"changed here meanwhile (version {current}, the change expects {version - 1})"
    SyncConflict.objects.create(
        event_id=str(event.event_id),
        origin=event.origin,
        aggregate_type=event.aggregate_type,
        aggregate_id=str(aggregate_id),
        field=field,
        ours=json.dumps({field: ours}),
        theirs=json.dumps({field: theirs, "reason": reason}),
        expected_version=version - 1,
        found_version=current,
        detected_at=utc_now(),
    )
    return False
