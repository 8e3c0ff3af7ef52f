"""LegacyProductSource: reads ``tbl_product`` page by page (keyset on ``prd_id``), read-only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    column,
    func,
    inspect,
    select,
    table,
)

from acl.catalog.legacy_schema import tbl_product
from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_from_legacy_row
from acl.errors import LegacyDataError
from acl.sync.core.engines import read_only_engine

__all__ = [
    "LEGACY_AGGREGATE_VERSION",
    "LEGACY_STOCK_VERSION",
    "LegacyProductSource",
    "ProductPage",
    "RejectedRow",
    "legacy_stock",
    "read_only_engine",
]


LEGACY_STOCK_VERSION = "internal_stock_version"
"""The monolith's stock versions (``acl.sync.core.stock``'s ``sync_stock_version`` under its own name)."""
LEGACY_AGGREGATE_VERSION = "internal_aggregate_version"
"""The monolith's versions of aggregates whose changes do not commute (``acl.sync.core.versions``'s
``sync_version`` under its own name): a product's other fields are counted as type ``product``."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    legacy_id: object
    error: LegacyDataError


@dataclass(frozen=True, slots=True)
class ProductPage:
    records: list[ProductRecord]
    rejected: list[RejectedRow] = field(default_factory=list)
    last_id: int = 0
    watermarks: dict[int, tuple[int, int]] = field(default_factory=dict)
    """prd_id -> (its last outbox sequence, its stock version) as read with the rows: the changes a
    copy of the rows already holds, which sync must not apply again."""
    field_versions: dict[int, int] = field(default_factory=dict)
    """prd_id -> its fields version (``acl.catalog.sync.fields``) as read with the rows, where it has one."""


class LegacyProductSource:
    """Translated legacy products in ``prd_id`` order; a malformed row is reported, never dropped unseen."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(tbl_product)) or 0)

    def pages(self, *, batch_size: int = 500, after_id: int = 0) -> Iterator[ProductPage]:
        """Pages of at most ``batch_size`` rows with ``prd_id > after_id``; each page in its own read."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        last_id = after_id
        while True:
            query = (
                select(tbl_product)
                .where(tbl_product.c.prd_id > last_id)
                .order_by(tbl_product.c.prd_id)
                .limit(batch_size)
            )
            with self._engine.connect() as connection:
                rows = [dict(row) for row in connection.execute(query).mappings()]
                ids = [row["prd_id"] for row in rows]
                watermarks = _watermarks(connection, ids) if rows else {}
                field_versions = _field_versions(connection, ids) if rows else {}
            if not rows:
                return
            records: list[ProductRecord] = []
            rejected: list[RejectedRow] = []
            for row in rows:
                try:
                    records.append(product_from_legacy_row(row))
                except LegacyDataError as exc:
                    rejected.append(RejectedRow(legacy_id=row.get("prd_id"), error=exc))
            last_id = rows[-1]["prd_id"]
            yield ProductPage(
                records=records,
                rejected=rejected,
                last_id=last_id,
                watermarks=watermarks,
                field_versions=field_versions,
            )
            if len(rows) < batch_size:
                return


def _watermarks(connection: Connection, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Each product's last outbox sequence and stock version (0 where the tables or rows are missing)."""
    found: dict[int, list[int]] = {prd_id: [0, 0] for prd_id in ids}
    keys = [str(prd_id) for prd_id in ids]
    present = inspect(connection)
    if present.has_table("outbox_event"):
        outbox = table(
            "outbox_event",
            column("aggregate_type", String),
            column("aggregate_id", String),
            column("sequence", Integer),
        )
        query = (
            select(outbox.c.aggregate_id, func.max(outbox.c.sequence))
            .where(outbox.c.aggregate_type == "product", outbox.c.aggregate_id.in_(keys))
            .group_by(outbox.c.aggregate_id)
        )
        for row in connection.execute(query):
            found[int(str(row[0]))][0] = int(str(row[1]))
    if present.has_table(LEGACY_STOCK_VERSION):
        versions = table(LEGACY_STOCK_VERSION, column("aggregate_id", String), column("version", Integer))
        query = select(versions.c.aggregate_id, versions.c.version).where(versions.c.aggregate_id.in_(keys))
        for row in connection.execute(query):
            found[int(str(row[0]))][1] = int(str(row[1]))
    return {prd_id: (values[0], values[1]) for prd_id, values in found.items()}


def _field_versions(connection: Connection, ids: list[int]) -> dict[int, int]:
    """Each product's fields version, where the monolith counted one."""
    if not inspect(connection).has_table(LEGACY_AGGREGATE_VERSION):
        return {}
    versions = table(
        LEGACY_AGGREGATE_VERSION,
        column("aggregate_type", String),
        column("aggregate_id", String),
        column("version", Integer),
    )
    query = select(versions.c.aggregate_id, versions.c.version).where(
        versions.c.aggregate_type == "product", versions.c.aggregate_id.in_([str(i) for i in ids])
    )
    return {int(str(row[0])): int(str(row[1])) for row in connection.execute(query)}


def legacy_stock(engine: Engine, product_id: int) -> tuple[int, int] | None:
    """The monolith's stock level of a product and its stock version (0 without one); None without the
    product."""
    with engine.connect() as connection:
        level = connection.scalar(select(tbl_product.c.stk_qty).where(tbl_product.c.prd_id == product_id))
        if level is None:
            return None
        version = 0
        if inspect(connection).has_table(LEGACY_STOCK_VERSION):
            versions = table(LEGACY_STOCK_VERSION, column("aggregate_id", String), column("version", Integer))
            found = connection.scalar(
                select(versions.c.version).where(versions.c.aggregate_id == str(product_id))
            )
            version = int(found or 0)
    return int(level), version
