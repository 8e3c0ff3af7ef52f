"""LegacyProductSource: reads ``tbl_product`` page by page (keyset on ``prd_id``), read-only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, make_url, select

from acl.catalog.legacy_schema import tbl_product
from acl.catalog.records import ProductRecord
from acl.catalog.translators import product_from_legacy_row
from acl.errors import LegacyDataError

__all__ = ["LegacyProductSource", "ProductPage", "RejectedRow", "read_only_engine"]


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite opened with ``mode=ro``, PostgreSQL in read-only transactions."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("the legacy SQLite database must be a file")
        path = Path(parsed.database).resolve()
        if not path.exists():
            raise FileNotFoundError(f"no legacy database at {path}")
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return create_engine(parsed, pool_pre_ping=True, execution_options={"postgresql_readonly": True})


@dataclass(frozen=True, slots=True)
class RejectedRow:
    legacy_id: object
    error: LegacyDataError


@dataclass(frozen=True, slots=True)
class ProductPage:
    records: list[ProductRecord]
    rejected: list[RejectedRow] = field(default_factory=list)
    last_id: int = 0


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
            yield ProductPage(records=records, rejected=rejected, last_id=last_id)
            if len(rows) < batch_size:
                return
