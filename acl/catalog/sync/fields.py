"""A product's other fields (name, description, price, status, category) travel as versioned changes.

Stock moves commute and have their own version (``acl.sync.core.stock``); a rename or a new price does not
commute, so each side counts the changes it applied to a product's other fields, its own and the other
side's, under the aggregate type ``product`` (a service's ``sync_version``, the monolith's
``internal_aggregate_version``; see ``acl.sync.core.versions``). An event that changes them carries, in the
legacy vocabulary (``acl.catalog.field_changes``), the product's fields version the change made and the
columns it changed (their values are in the payload); ``sync_force`` is true on an operator's resolution
of a conflict (applied whatever the version, which it sets on both sides, so they count alike again),
with ``sync_expect_version``: the version the resolver read on that side, a compare-and-set (a side whose
version moved since answers ``changed`` and applies nothing, records nothing).

The receiving side applies the changed columns only when its count is one behind the change's (or it never
counted a change of the product); otherwise the change is parked in ``sync_conflict`` (field ``fields``)
with both values, and nothing is overwritten. Stock moves never touch this version, so a stock move
never conflicts with a rename.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from acl.catalog.field_changes import (
    FIELD_COLUMNS,
    FIELDS_CHANGED_FIELD,
    FIELDS_VERSION_FIELD,
    UPDATED_FIELD,
    record_values,
)
from acl.sync.core.stock import sync_conflict

__all__ = [
    "CHANGED",
    "CONFLICT_FIELD",
    "EXPECT_FIELD",
    "FORCE_FIELD",
    "PRODUCT_AGGREGATE",
    "FieldChange",
    "field_change_from_payload",
    "park_field_conflict",
]

PRODUCT_AGGREGATE = "product"
"""The aggregate type a product's fields version is counted under (``sync_version`` and the monolith's
``internal_aggregate_version``)."""
CONFLICT_FIELD = "fields"
"""``sync_conflict.field`` of a parked change of a product's other fields (stock conflicts say ``stock``)."""
FORCE_FIELD = "sync_force"
"""Set (true) on an operator's resolution: applied whatever the version, which it sets."""
EXPECT_FIELD = "sync_expect_version"
"""On a forced change: the version the receiving side must still hold for it to apply (compare-and-set)."""
CHANGED = "changed"
"""The outcome of a forced change whose expected version no longer holds: nothing applied, nothing
recorded (sending it again evaluates it again)."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One change of a product's other fields, as its event carries it (legacy vocabulary)."""

    event_id: str
    origin: str
    product_id: int
    version: int
    """The product's fields version the change made on its side."""
    values: dict[str, Any] = field(hash=False)
    """The changed columns and their new values (the legacy vocabulary)."""
    updated_at: str | None = None
    """The change's time (the monolith's naive local ISO 8601), when the event carries it."""
    force: bool = False
    expect_version: int | None = None
    """A forced change applies only while this side's fields version is this one (None: whatever it is)."""


def field_change_from_payload(
    event_id: str, origin: str, product_id: int, payload: Mapping[str, Any]
) -> FieldChange | None:
    """The fields change an event carries (None without a fields version). Raises ValueError when
    malformed."""
    version = payload.get(FIELDS_VERSION_FIELD)
    if version is None:
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{FIELDS_VERSION_FIELD} must be an integer >= 1, got {version!r}")
    changed = payload.get(FIELDS_CHANGED_FIELD)
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise ValueError(f"{FIELDS_CHANGED_FIELD} must be a list of column names, got {changed!r}")
    unknown = sorted(set(changed) - set(FIELD_COLUMNS))
    if unknown:
        raise ValueError(f"{FIELDS_CHANGED_FIELD} names columns a fields change cannot change: {unknown}")
    missing = [column for column in changed if column not in payload]
    if missing:
        raise ValueError(f"{FIELDS_CHANGED_FIELD} names columns the payload does not carry: {missing}")
    values = {column: payload[column] for column in changed}
    record_values(values)  # checked now: a malformed value is refused, never parked or applied
    updated = payload.get(UPDATED_FIELD)
    expected = payload.get(EXPECT_FIELD)
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool) or expected < 0):
        raise ValueError(f"{EXPECT_FIELD} must be an integer >= 0, got {expected!r}")
    return FieldChange(
        event_id,
        origin,
        product_id,
        version,
        values,
        updated if isinstance(updated, str) else None,
        payload.get(FORCE_FIELD) is True,
        expected,
    )


def park_field_conflict(
    connection: Connection, change: FieldChange, *, ours: Mapping[str, Any], found: int
) -> None:
    """Put ``change`` in the conflict queue with this side's values of its columns; nothing is applied."""
    reason = f"changed here meanwhile (version {found}, the change expects {change.version - 1})"
    connection.execute(
        insert(sync_conflict).values(
            event_id=change.event_id,
            origin=change.origin,
            aggregate_type=PRODUCT_AGGREGATE,
            aggregate_id=str(change.product_id),
            field=CONFLICT_FIELD,
            ours=json.dumps(dict(ours)),
            theirs=json.dumps({**change.values, FIELDS_VERSION_FIELD: change.version, "reason": reason}),
            expected_version=change.version - 1,
            found_version=found,
            detected_at=datetime.now(UTC).replace(tzinfo=None),
        )
    )
