"""A product's other fields (name, description, price, status, category) travel as versioned changes.

Stock moves commute and have their own version (``acl.sync.stock``); a rename or a new price does not
commute, so each side counts the changes it applied to a product's other fields, its own and the other
side's, under the aggregate type ``product`` (a service's ``sync_version``, the monolith's
``internal_aggregate_version``; see ``acl.sync.versions``). An event that changes them carries, in the
legacy vocabulary:

* ``prd_ver``      the product's fields version the change made;
* ``prd_changed``  the columns it changed (their values are in the payload);
* ``prd_force``    true on an operator's resolution of a conflict (applied whatever the version, which it
  sets on both sides, so the sides count alike again).

The receiving side applies the changed columns only when its count is ``prd_ver - 1`` (or it never
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

from acl.catalog.translators import (
    decode_category_path,
    decode_price,
    decode_status,
)
from acl.errors import LegacyDataError
from acl.sync.stock import sync_conflict

__all__ = [
    "CONFLICT_FIELD",
    "FIELD_COLUMNS",
    "PRODUCT_AGGREGATE",
    "FieldChange",
    "field_change_from_payload",
    "park_field_conflict",
    "record_values",
]

PRODUCT_AGGREGATE = "product"
"""The aggregate type a product's fields version is counted under (``sync_version`` and the monolith's
``internal_aggregate_version``)."""
CONFLICT_FIELD = "fields"
"""``sync_conflict.field`` of a parked change of a product's other fields (stock conflicts say ``stock``)."""
FIELD_COLUMNS = ("prd_nm", "prd_desc", "unit_prc", "sts_cd", "cat_path")
"""The legacy columns a fields change may carry (``upd_dt`` travels with them)."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One change of a product's other fields, as its event carries it (legacy vocabulary)."""

    event_id: str
    origin: str
    product_id: int
    version: int
    """The product's fields version the change made on its side."""
    values: dict[str, Any] = field(hash=False)
    """The changed columns and their new values, e.g. ``{"prd_nm": "Chef's knife"}``."""
    updated_at: str | None = None
    """``upd_dt`` of the change (naive Europe/Berlin ISO 8601), when the event carries it."""
    force: bool = False


def field_change_from_payload(
    event_id: str, origin: str, product_id: int, payload: Mapping[str, Any]
) -> FieldChange | None:
    """The fields change an event carries (None without ``prd_ver``). Raises ValueError when malformed."""
    version = payload.get("prd_ver")
    if version is None:
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"prd_ver must be an integer >= 1, got {version!r}")
    changed = payload.get("prd_changed")
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise ValueError(f"prd_changed must be a list of column names, got {changed!r}")
    unknown = sorted(set(changed) - set(FIELD_COLUMNS))
    if unknown:
        raise ValueError(f"prd_changed names columns a fields change cannot change: {unknown}")
    missing = [column for column in changed if column not in payload]
    if missing:
        raise ValueError(f"prd_changed names columns the payload does not carry: {missing}")
    values = {column: payload[column] for column in changed}
    record_values(values)  # checked now: a malformed value is refused, never parked or applied
    updated = payload.get("upd_dt")
    return FieldChange(
        event_id,
        origin,
        product_id,
        version,
        values,
        updated if isinstance(updated, str) else None,
        bool(payload.get("prd_force")),
    )


def record_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Legacy column values -> the ``ProductRecord`` attributes they set (name, description, price,
    status, category). Raises ValueError naming the column when a value is malformed."""
    out: dict[str, Any] = {}
    try:
        for column, value in values.items():
            if column == "prd_nm":
                if not isinstance(value, str) or not value.strip() or len(value) > 200:
                    raise LegacyDataError(column, value, "expected a name of 1 to 200 characters")
                out["name"] = value
            elif column == "prd_desc":
                if not isinstance(value, str):
                    raise LegacyDataError(column, value, "expected text")
                out["description"] = value
            elif column == "unit_prc":
                out["price"] = decode_price(value)
            elif column == "sts_cd":
                out["status"] = decode_status(value)
            elif column == "cat_path":
                out["category"] = decode_category_path(value)
            else:
                raise LegacyDataError(column, value, "not a column a fields change may carry")
    except LegacyDataError as exc:
        raise ValueError(str(exc)) from exc
    return out


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
            theirs=json.dumps({**change.values, "prd_ver": change.version, "reason": reason}),
            expected_version=change.version - 1,
            found_version=found,
            detected_at=datetime.now(UTC).replace(tzinfo=None),
        )
    )
