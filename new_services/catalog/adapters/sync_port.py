"""The catalog's side of data sync: ``acl.sync.CatalogPort`` on the catalog database (SQLAlchemy Core).

The sync processes load ``create_port`` by name (``STRANGLER_SYNC_CATALOG_PORT``), so acl never imports
the catalog. A batch is written in one transaction by one compiled upsert (``INSERT ... ON CONFLICT (id)
DO UPDATE``) executed for all its rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from acl.catalog.field_changes import record_values
from acl.catalog.records import ProductRecord, ProductStatus
from acl.catalog.sync.fields import CHANGED, PRODUCT_AGGREGATE, FieldChange, park_field_conflict
from acl.sync.core.stock import (
    StockChange,
    park_conflict,
    record_applied,
    record_copy,
    stock_version,
    stock_version_at_least,
    stock_version_next,
    was_applied,
)
from acl.sync.core.versions import version_of, version_set
from acl.timezones import parse_legacy_local
from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.adapters.tables import products
from new_services.catalog.settings import CatalogSettings
from new_services.kit.engine import make_engine

__all__ = ["CatalogSyncPort", "create_port"]


def _row(record: ProductRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "sku": record.sku,
        "name": record.name,
        "description": record.description,
        "price_cents": int(record.price * 100),
        "currency": record.currency,
        "stock": record.stock,
        "status": record.status.value,
        "category_path": record.category_path,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _price(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))


def _record(row: Any) -> ProductRecord:
    return ProductRecord(
        id=row.id,
        sku=str(row.sku),
        name=row.name,
        description=row.description,
        price=_price(row.price_cents),
        stock=int(row.stock),
        status=ProductStatus(str(getattr(row.status, "value", row.status))),
        category=tuple(str(row.category_path).split(">")),
        created_at=row.created_at,
        updated_at=row.updated_at,
        currency=row.currency,
    )


def _columns(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``ProductRecord`` attributes -> the catalog's columns."""
    names = {"name": "name", "description": "description", "price": "price_cents", "status": "status"}
    values: dict[str, Any] = {}
    for attribute, value in attributes.items():
        if attribute == "price":
            values["price_cents"] = int(value * 100)
        elif attribute == "status":
            values["status"] = value.value
        elif attribute == "category":
            values["category_path"] = ">".join(value)
        else:
            values[names[attribute]] = value
    return values


def _legacy_value(row: Any, column: str) -> Any:
    """The catalog's value of a legacy column, in the legacy vocabulary (a conflict keeps both alike)."""
    record = _record(row)
    return {
        "prd_nm": record.name,
        "prd_desc": record.description,
        "unit_prc": f"{record.price:.2f}",
        "sts_cd": "A" if record.status is ProductStatus.ACTIVE else "D",
        "cat_path": record.category_path,
    }[column]


class CatalogSyncPort:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        statement = dialect_insert(products)
        self._upsert = statement.on_conflict_do_update(
            index_elements=[products.c.id],
            set_={
                column.name: statement.excluded[column.name]
                for column in products.columns
                if column.name != "id"
            },
        )
        # A product's other columns, its stock left as it is: stock moves only by stock changes.
        self._upsert_keep_stock = statement.on_conflict_do_update(
            index_elements=[products.c.id],
            set_={
                column.name: statement.excluded[column.name]
                for column in products.columns
                if column.name not in ("id", "stock")
            },
        )

    def apply_products(self, records: Sequence[ProductRecord], *, keep_stock: bool = False) -> int:
        if not records:
            return 0
        statement = self._upsert_keep_stock if keep_stock else self._upsert
        with self._engine.begin() as connection:
            # One compiled statement, executed for many rows (a VALUES list would be compiled per batch).
            connection.execute(statement, [_row(record) for record in records])
        return len(records)

    def record_copy(self, marks: Mapping[int, tuple[int, int]]) -> None:
        """A backfill's copy: each product's last outbox sequence and stock version as the monolith had
        them with the copied rows (``acl.sync.core.stock.record_copy``)."""
        if not marks:
            return
        with self._engine.begin() as connection:
            for product_id, (sequence, version) in marks.items():
                record_copy(connection, product_id, sequence=sequence, version=version)

    def record_field_versions(self, versions: Mapping[int, int]) -> None:
        """A backfill's copy: each product's fields version as the monolith had it with the copied row."""
        if not versions:
            return
        with self._engine.begin() as connection:
            for product_id, version in versions.items():
                key = str(product_id)
                if (version_of(connection, PRODUCT_AGGREGATE, key) or 0) < version:
                    version_set(connection, PRODUCT_AGGREGATE, key, version)

    def apply_stock_changes(
        self, changes: Sequence[StockChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Apply the monolith's stock changes in order, in one transaction; one outcome each: ``applied``,
        ``duplicate`` (applied before), ``conflict`` (parked in ``sync_conflict``) or ``unknown`` (no such
        product here, and no row in ``rows`` to create it from: a product created from its row takes the
        change's level and version)."""
        outcomes: list[str] = []
        with self._engine.begin() as connection:
            for change in changes:
                outcomes.append(
                    self._apply_stock_change(connection, change, (rows or {}).get(change.product_id))
                )
        return outcomes

    def _apply_stock_change(
        self, connection: Connection, change: StockChange, row: ProductRecord | None
    ) -> str:
        if was_applied(connection, change.event_id):
            return "duplicate"
        held = connection.execute(
            select(products.c.stock, products.c.updated_at)
            .where(products.c.id == change.product_id)
            .with_for_update()
        ).first()
        stock = None if held is None else held.stock
        if stock is None:
            if row is None:
                return "unknown"
            connection.execute(self._upsert, [{**_row(row), "stock": change.level}])
            stock_version_at_least(connection, change.product_id, change.version)
            record_applied(connection, change.event_id)
            return "applied"
        current = int(stock)
        found = stock_version(connection, change.product_id)
        if change.delta is not None and current + change.delta < 0:
            reason = f"moving {current} by {change.delta} would go below zero"
        elif change.delta is None and found != change.version - 1:
            reason = "the level was set while this side changed the stock"
        else:
            level = current + change.delta if change.delta is not None else change.level
            moved: dict[str, Any] = {"stock": level}
            if row is not None and held is not None:
                # the change's time, as the monolith stamped it; changes cross in flight: keep the latest
                moved["updated_at"] = max(row.updated_at, held.updated_at)
            connection.execute(update(products).where(products.c.id == change.product_id).values(**moved))
            stock_version_next(connection, change.product_id)
            record_applied(connection, change.event_id)
            return "applied"
        park_conflict(connection, change, ours=current, found_version=found, reason=reason)
        record_applied(connection, change.event_id)
        return "conflict"

    def apply_field_changes(
        self, changes: Sequence[FieldChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Apply the monolith's changes of products' other fields in order, each exactly once, in one
        transaction (``acl.catalog.sync.fields``): ``applied``, ``duplicate``, ``conflict`` (parked: the
        product's fields changed here meanwhile) or ``unknown`` (no such product, and no row in ``rows``)."""
        outcomes: list[str] = []
        with self._engine.begin() as connection:
            for change in changes:
                outcomes.append(
                    self._apply_field_change(connection, change, (rows or {}).get(change.product_id))
                )
        return outcomes

    def _apply_field_change(
        self, connection: Connection, change: FieldChange, row: ProductRecord | None
    ) -> str:
        if was_applied(connection, change.event_id):
            return "duplicate"
        held = connection.execute(
            select(products).where(products.c.id == change.product_id).with_for_update()
        ).first()
        key = str(change.product_id)
        if held is None:
            if row is None:
                return "unknown"
            connection.execute(self._upsert, [_row(row)])
            version_set(connection, PRODUCT_AGGREGATE, key, change.version)
            record_applied(connection, change.event_id)
            return "applied"
        found = version_of(connection, PRODUCT_AGGREGATE, key, lock=True)
        if change.force and change.expect_version not in (None, found or 0):
            return CHANGED  # changed here since the resolver read it: nothing applied, nothing recorded
        if change.force or found is None or found == change.version - 1:
            values = _columns(record_values(change.values))
            if change.updated_at is not None:
                values["updated_at"] = parse_legacy_local(change.updated_at, "upd_dt")
            connection.execute(update(products).where(products.c.id == change.product_id).values(**values))
            version_set(connection, PRODUCT_AGGREGATE, key, change.version)
            record_applied(connection, change.event_id)
            return "applied"
        ours = {column: _legacy_value(held, column) for column in change.values}
        park_field_conflict(connection, change, ours=ours, found=found)
        record_applied(connection, change.event_id)
        return "conflict"

    def stock_state(self, product_id: int) -> tuple[int, int] | None:
        """The product's stock and stock version here (None without the product)."""
        with self._engine.connect() as connection:
            stock = connection.scalar(select(products.c.stock).where(products.c.id == product_id))
            return None if stock is None else (int(stock), stock_version(connection, product_id))

    def resolve_stock(
        self,
        product_id: int,
        level: int,
        *,
        version: int,
        event_id: str,
        updated: str,
        expect_version: int | None = None,
    ) -> str:
        """An operator's resolution of a stock conflict: the level set, and its version taken, at
        ``updated`` (the monolith's local time), while the stock version here is ``expect_version``
        (None: whatever it is); once per ``event_id`` (``applied``, ``duplicate``, ``unknown``, or
        ``changed``: the stock moved since, nothing applied or recorded)."""
        moment = parse_legacy_local(updated, "upd_dt")
        with self._engine.begin() as connection:
            if was_applied(connection, event_id):
                return "duplicate"
            held = connection.execute(
                select(products.c.id).where(products.c.id == product_id).with_for_update()
            ).first()
            if held is None:
                return "unknown"
            if expect_version is not None and stock_version(connection, product_id) != expect_version:
                return CHANGED
            changed = connection.execute(
                update(products).where(products.c.id == product_id).values(stock=level, updated_at=moment)
            ).rowcount
            if not changed:
                return "unknown"
            stock_version_at_least(connection, product_id, version)
            record_applied(connection, event_id)
        return "applied"

    def has_applied(self, event_id: str) -> bool:
        """Whether the event ``event_id`` was applied here (its inbox row)."""
        with self._engine.connect() as connection:
            return was_applied(connection, event_id)

    def fields_version(self, product_id: int) -> int:
        """The product's fields version here (0 before the first counted change)."""
        with self._engine.connect() as connection:
            return version_of(connection, PRODUCT_AGGREGATE, str(product_id)) or 0

    def product_record(self, product_id: int) -> ProductRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(products).where(products.c.id == product_id)).first()
        return None if row is None else _record(row)

    def product_records(self, *, batch_size: int = 1000) -> Iterator[ProductRecord]:
        last_id = 0
        while True:
            with self._engine.connect() as connection:
                rows = connection.execute(
                    select(products).where(products.c.id > last_id).order_by(products.c.id).limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _record(row)
            last_id = rows[-1].id

    def count_products(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(products)) or 0)

    def close(self) -> None:
        self._engine.dispose()


def create_port() -> CatalogSyncPort:
    """The port on the catalog database named by the environment (CatalogSettings), migrated to head."""
    engine = make_engine(CatalogSettings().database_url)
    MIGRATIONS.upgrade_to_head(engine)
    return CatalogSyncPort(engine)
