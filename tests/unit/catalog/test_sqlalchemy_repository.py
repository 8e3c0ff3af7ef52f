"""The SQLAlchemy repository on a migrated SQLite file behaves exactly like the in-memory fake."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select

from acl.sync import create_service_outbox
from acl.sync.core.tables import service_outbox
from new_services.catalog.adapters.memory_repository import InMemoryUnitOfWork
from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.catalog.domain import Status
from new_services.catalog.service_layer import (
    NegativeStock,
    ProductCriteria,
    ShadowUnitOfWork,
    adjust_stock,
    get_product,
    list_categories,
    list_products,
    set_stock,
)
from new_services.kit.engine import make_engine, normalise_url
from tests.unit.catalog.builders import make_product

pytestmark = pytest.mark.unit

NAMES = ["Oak knife", "oak knife", "Bamboo spoon", "Lamp", "Zebra mug", "Äpfel tray", "100% cotton"]
CATEGORIES = ["Home>Kitchen>Knives", "Home>Kitchen", "Home>Kitchenware", "Outdoor>Camping", "Home"]
PRODUCTS = [
    make_product(
        i,
        name=NAMES[i % len(NAMES)],
        price=f"{(i * 37) % 50}.{(i * 13) % 100:02d}",
        category=CATEGORIES[i % len(CATEGORIES)],
        status=Status.DISCONTINUED if i % 4 == 0 else Status.ACTIVE,
    )
    for i in range(1, 41)
]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    MIGRATIONS.upgrade_to_head(engine)
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.products.save_many(PRODUCTS)
        uow.commit()
    yield engine
    engine.dispose()


CRITERIA = [
    ProductCriteria(**dict(combo))  # type: ignore[arg-type]
    for combo in itertools.product(
        [("q", ""), ("q", "oak"), ("q", "LS-00001"), ("q", "100%"), ("q", "_"), ("q", "Äp"), ("q", "äp")],
        [("category", ""), ("category", "Home>Kitchen"), ("category", "Home")],
        [("sort", sort) for sort in ("id", "name", "-name", "price", "-price", "sku", "-sku")],
    )
] + [
    ProductCriteria(status=Status.DISCONTINUED, min_price=Decimal("10.005"), max_price=Decimal("30.5")),
    ProductCriteria(min_price=Decimal("0"), max_price=Decimal("0.13"), sort="-price"),
]


@pytest.mark.parametrize("page_size", [7, 100])
def test_sql_and_memory_repositories_agree(engine: Engine, page_size: int) -> None:
    fake = InMemoryUnitOfWork(PRODUCTS)
    for criteria in CRITERIA:
        expected = list_products(fake, criteria, page=1, page_size=page_size)
        actual = list_products(SqlAlchemyUnitOfWork(engine), criteria, page=1, page_size=page_size)
        assert [p.id for p in actual.items] == [p.id for p in expected.items], criteria
        assert actual.count == expected.count, criteria


def test_rows_come_back_as_equal_values(engine: Engine) -> None:
    stored = get_product(SqlAlchemyUnitOfWork(engine), 7)
    original = PRODUCTS[6]
    for name in (
        "sku",
        "name",
        "description",
        "price",
        "stock",
        "status",
        "category",
        "created_at",
        "updated_at",
    ):
        assert getattr(stored, name) == getattr(original, name), name
    assert stored.created_at.tzinfo is UTC


def test_save_many_upserts(engine: Engine) -> None:
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.products.save_many([make_product(7, name="Renamed"), make_product(99)])
        uow.commit()
    uow = SqlAlchemyUnitOfWork(engine)
    assert get_product(uow, 7).name == "Renamed"
    assert list_products(uow, ProductCriteria(), page=1, page_size=1).count == 41


def test_leaving_without_commit_rolls_back(engine: Engine) -> None:
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.products.save(make_product(7, name="Never stored"))
    assert get_product(SqlAlchemyUnitOfWork(engine), 7).name == PRODUCTS[6].name


def test_categories_from_sql(engine: Engine) -> None:
    assert list_categories(SqlAlchemyUnitOfWork(engine)) == list_categories(InMemoryUnitOfWork(PRODUCTS))


def test_migrations_are_idempotent_and_tracked(engine: Engine) -> None:
    assert MIGRATIONS.current_revision(engine) == MIGRATIONS.head_revision()
    assert MIGRATIONS.upgrade_to_head(engine) == MIGRATIONS.head_revision()
    columns = {column["name"] for column in inspect(engine).get_columns("catalog_products")}
    assert {"price_cents", "category_path", "created_at"} <= columns


def test_naive_datetimes_are_never_stored(engine: Engine) -> None:
    product = make_product(50)
    product.updated_at = datetime(2020, 1, 1)
    with pytest.raises(Exception, match="naive"), SqlAlchemyUnitOfWork(engine) as uow:
        uow.products.save(product)


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def _outbox_rows(engine: Engine) -> list[tuple[str, str, dict[str, object]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(service_outbox.c.aggregate_id, service_outbox.c.origin, service_outbox.c.payload).order_by(
                service_outbox.c.sequence
            )
        ).all()
    return [(row.aggregate_id, row.origin, row.payload) for row in rows]


def test_stock_change_and_its_outbox_row_commit_together(engine: Engine) -> None:
    set_stock(SqlAlchemyUnitOfWork(engine), 3, 11, clock=lambda: datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC))
    adjust_stock(SqlAlchemyUnitOfWork(engine), 3, -4)
    assert get_product(SqlAlchemyUnitOfWork(engine), 3).stock.quantity == 7
    rows = _outbox_rows(engine)
    assert [(aggregate, origin) for aggregate, origin, _ in rows] == [("3", "catalog"), ("3", "catalog")]
    # a level set (no move: it does not commute), then a move; each with the stock version it made
    assert rows[0][2] == {
        "prd_id": 3,
        "stk_qty": 11,
        "upd_dt": "2026-05-01T12:00:00",
        "stk_delta": None,
        "stk_ver": 1,
    }  # fmt: skip  (upd_dt: Berlin wall clock)
    assert rows[1][2] == {**rows[1][2], "stk_qty": 7, "stk_delta": -4, "stk_ver": 2}
    assert set(rows[1][2]) == {"prd_id", "stk_qty", "upd_dt", "stk_delta", "stk_ver"}


def test_refused_and_shadow_stock_changes_leave_no_row(engine: Engine) -> None:
    with pytest.raises(NegativeStock):
        adjust_stock(SqlAlchemyUnitOfWork(engine), 3, -10_000)
    shadowed = set_stock(ShadowUnitOfWork(SqlAlchemyUnitOfWork(engine)), 3, 99)
    assert shadowed.stock.quantity == 99
    assert get_product(SqlAlchemyUnitOfWork(engine), 3).stock == PRODUCTS[2].stock
    assert _outbox_rows(engine) == []


def test_outbox_table_is_the_relays_own(engine: Engine) -> None:
    """The migration and ``acl.sync.create_service_outbox`` agree: either may run first."""
    columns = {column["name"] for column in inspect(engine).get_columns("service_outbox")}
    assert columns == {column.name for column in service_outbox.columns}
    with engine.begin() as connection:
        create_service_outbox(connection)
    assert MIGRATIONS.upgrade_to_head(engine) == MIGRATIONS.head_revision()


def test_concurrent_stock_moves_on_one_product_lose_nothing(engine: Engine) -> None:
    set_stock(SqlAlchemyUnitOfWork(engine), 5, 100)

    def take_ten() -> None:
        for _ in range(10):
            adjust_stock(SqlAlchemyUnitOfWork(engine), 5, -1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(take_ten) for _ in range(4)]:
            future.result()
    assert get_product(SqlAlchemyUnitOfWork(engine), 5).stock.quantity == 60
    stocks = [payload["stk_qty"] for _, _, payload in _outbox_rows(engine)]
    assert stocks == list(range(100, 59, -1))  # one event per change, in sequence order
