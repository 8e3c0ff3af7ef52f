"""What a product-fields conflict shows, brought up to date when its side changed since it was parked.

A resolution is refused when the side holding the conflict moved past the fields version it was parked
at (``acl.catalog.sync.resolve``): the conflict's ``ours`` is no longer what that side holds. So that
looking at it again shows what resolving would now keep or overwrite, the refusal records the side's
current values of the conflict's columns and its current version (``ours``, ``found_version``); the next
resolution is then checked against those.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, inspect, select, update

from acl.catalog.legacy_schema import tbl_product
from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_to_legacy_row
from acl.sync.core.stock import sync_conflict

__all__ = ["legacy_fields", "record_fields", "refresh_conflict"]


def legacy_fields(engine: Engine, product_id: int, columns: Iterable[str]) -> dict[str, Any] | None:
    """The monolith's values of ``columns`` of the product (None without it)."""
    wanted = list(columns)
    with engine.connect() as connection:
        row = connection.execute(
            select(*(tbl_product.c[name] for name in wanted)).where(tbl_product.c.prd_id == product_id)
        ).first()
    return None if row is None else {name: row._mapping[name] for name in wanted}


def record_fields(record: ProductRecord | None, columns: Iterable[str]) -> dict[str, Any] | None:
    """A service's product as the monolith's values of ``columns`` (None without it)."""
    if record is None:
        return None
    row = product_to_legacy_row(record)
    return {name: row[name] for name in columns}


def refresh_conflict(
    engine: Engine, conflict: Mapping[str, Any], *, ours: Mapping[str, Any], found: int
) -> None:
    """Record on the side's open ``conflict`` (by event id) the values and version that side holds now."""
    if not inspect(engine).has_table(sync_conflict.name):
        return
    with engine.begin() as connection:
        connection.execute(
            update(sync_conflict)
            .where(
                sync_conflict.c.event_id == str(conflict["event_id"]), sync_conflict.c.resolved_at.is_(None)
            )
            .values(ours=json.dumps(dict(ours)), found_version=found)
        )
