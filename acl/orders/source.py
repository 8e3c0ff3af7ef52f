"""LegacyOrderSource: reads ``tbl_order`` page by page (keyset on ``ord_id``) with each page's lines and
references, read-only, and translates every order; a malformed one is reported, never dropped unseen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Integer, String, column, func, inspect, select, table

from acl.catalog.source import RejectedRow
from acl.errors import LegacyDataError
from acl.orders.legacy_schema import tbl_order, tbl_order_line
from acl.orders.records import OrderRecord
from acl.orders.references import LegacyReferenceReader
from acl.orders.translators import order_from_legacy_row

__all__ = ["ORDER_VERSIONS", "LegacyOrderSource", "OrderPage"]

ORDER_VERSIONS = "internal_aggregate_version"
"""The monolith's count of changes per aggregate (``strangler_django``'s ``AggregateVersion``)."""


@dataclass(frozen=True, slots=True)
class OrderPage:
    records: list[OrderRecord]
    rejected: list[RejectedRow] = field(default_factory=list)
    last_id: int = 0
    watermarks: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """Each order's ``ord_id``, last outbox sequence and version (0 without events or a count) by order
    number, read with the rows: the copy holds the order's events up to that sequence, and as many
    changes as that version counts."""


class LegacyOrderSource:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._references = LegacyReferenceReader(engine)

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(tbl_order)) or 0)

    def pages(self, *, batch_size: int = 500, after_id: int = 0) -> Iterator[OrderPage]:
        """Pages of at most ``batch_size`` orders with ``ord_id > after_id``; each page in its own read."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        last_id = after_id
        while True:
            with self._engine.connect() as connection:
                rows = [
                    dict(row)
                    for row in connection.execute(
                        select(tbl_order)
                        .where(tbl_order.c.ord_id > last_id)
                        .order_by(tbl_order.c.ord_id)
                        .limit(batch_size)
                    ).mappings()
                ]
                if not rows:
                    return
                lines: dict[int, list[dict[str, Any]]] = {row["ord_id"]: [] for row in rows}
                for line in connection.execute(
                    select(tbl_order_line)
                    .where(tbl_order_line.c.ord_id.in_(list(lines)))
                    .order_by(tbl_order_line.c.ord_id, tbl_order_line.c.line_id)
                ).mappings():
                    lines[line["ord_id"]].append(dict(line))
                sequences = _last_sequences(connection, list(lines))
                versions = _versions(connection, list(lines))
            references = self._references.resolve(
                {row["cust_id"] for row in rows},
                {line["prd_id"] for order_lines in lines.values() for line in order_lines},
            )
            records: list[OrderRecord] = []
            rejected: list[RejectedRow] = []
            for row in rows:
                try:
                    records.append(order_from_legacy_row(row, lines[row["ord_id"]], references))
                except LegacyDataError as exc:
                    rejected.append(RejectedRow(legacy_id=row["ord_id"], error=exc))
            last_id = rows[-1]["ord_id"]
            watermarks = {
                row["ord_no"]: (
                    row["ord_id"],
                    sequences.get(row["ord_id"], 0),
                    versions.get(row["ord_id"], 0),
                )
                for row in rows
            }
            yield OrderPage(records=records, rejected=rejected, last_id=last_id, watermarks=watermarks)
            if len(rows) < batch_size:
                return


def _last_sequences(connection: Connection, ids: list[int]) -> dict[int, int]:
    """Each order's last outbox sequence (the monolith's ``outbox_event``; none when it has no outbox)."""
    if not ids or not inspect(connection).has_table("outbox_event"):
        return {}
    outbox = table(
        "outbox_event",
        column("aggregate_type", String),
        column("aggregate_id", String),
        column("sequence", Integer),
    )
    query = (
        select(outbox.c.aggregate_id, func.max(outbox.c.sequence))
        .where(outbox.c.aggregate_type == "order", outbox.c.aggregate_id.in_([str(i) for i in ids]))
        .group_by(outbox.c.aggregate_id)
    )
    return {int(str(row[0])): int(str(row[1])) for row in connection.execute(query)}


def _versions(connection: Connection, ids: list[int]) -> dict[int, int]:
    """Each order's version on the monolith (``internal_aggregate_version``; none without the table)."""
    if not ids or not inspect(connection).has_table(ORDER_VERSIONS):
        return {}
    versions = table(
        ORDER_VERSIONS,
        column("aggregate_type", String),
        column("aggregate_id", String),
        column("version", Integer),
    )
    query = select(versions.c.aggregate_id, versions.c.version).where(
        versions.c.aggregate_type == "order", versions.c.aggregate_id.in_([str(i) for i in ids])
    )
    return {int(str(row[0])): int(str(row[1])) for row in connection.execute(query)}
