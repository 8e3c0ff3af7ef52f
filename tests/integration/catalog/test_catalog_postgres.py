"""The catalog's schema and repository on PostgreSQL (a fresh database per test)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select

from acl.sync.core.tables import service_outbox
from new_services.catalog.adapters.memory_repository import InMemoryUnitOfWork
from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.catalog.domain import Status
from new_services.catalog.service_layer import (
    ProductCriteria,
    ShadowUnitOfWork,
    adjust_stock,
    get_product,
    list_categories,
    list_products,
    set_stock,
)
from new_services.kit.engine import make_engine
from tests.unit.catalog.test_sqlalchemy_repository import CRITERIA, PRODUCTS

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_migrate_and_query_on_postgres(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        assert MIGRATIONS.current_revision(engine) is None
        MIGRATIONS.upgrade_to_head(engine)
        assert MIGRATIONS.current_revision(engine) == MIGRATIONS.head_revision()
        with SqlAlchemyUnitOfWork(engine) as uow:
            uow.products.save_many(PRODUCTS)
            uow.commit()
        fake = InMemoryUnitOfWork(PRODUCTS)
        for criteria in (c for c in CRITERIA if c.q.isascii()):
            expected = list_products(fake, criteria, page=1, page_size=10)
            actual = list_products(SqlAlchemyUnitOfWork(engine), criteria, page=1, page_size=10)
            assert [p.id for p in actual.items] == [p.id for p in expected.items], criteria
            assert actual.count == expected.count
        # PostgreSQL folds every letter (as Django's icontains does there), SQLite only ASCII ones
        unicode_match = list_products(
            SqlAlchemyUnitOfWork(engine), ProductCriteria(q="äp"), page=1, page_size=50
        )
        assert unicode_match.count == sum(p.name.startswith("Äpfel") for p in PRODUCTS) > 0
        stored = get_product(SqlAlchemyUnitOfWork(engine), 3)
        assert (stored.price, stored.created_at) == (PRODUCTS[2].price, PRODUCTS[2].created_at)
        assert list_categories(SqlAlchemyUnitOfWork(engine)) == list_categories(fake)
        page = list_products(
            SqlAlchemyUnitOfWork(engine),
            ProductCriteria(status=Status.ACTIVE, min_price=Decimal("10"), sort="-price"),
            page=1,
            page_size=100,
        )
        assert all(p.price.amount >= 10 for p in page.items)
    finally:
        engine.dispose()


def test_concurrent_stock_moves_and_their_outbox_rows_on_postgres(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        MIGRATIONS.upgrade_to_head(engine)
        with SqlAlchemyUnitOfWork(engine) as uow:
            uow.products.save_many(PRODUCTS[:5])
            uow.commit()
        set_stock(SqlAlchemyUnitOfWork(engine), 2, 50)

        def take_five() -> None:
            for _ in range(5):
                adjust_stock(SqlAlchemyUnitOfWork(engine), 2, -1)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for future in [pool.submit(take_five) for _ in range(4)]:
                future.result()
        set_stock(ShadowUnitOfWork(SqlAlchemyUnitOfWork(engine)), 2, 999)
        assert get_product(SqlAlchemyUnitOfWork(engine), 2).stock.quantity == 30
        with engine.connect() as connection:
            rows = connection.execute(
                select(service_outbox.c.sequence, service_outbox.c.payload, service_outbox.c.origin)
                .where(service_outbox.c.aggregate_id == "2")
                .order_by(service_outbox.c.sequence)
            ).all()
        assert [row.sequence for row in rows] == list(range(1, 22))
        assert [row.payload["stk_qty"] for row in rows] == list(range(50, 29, -1))
        assert {row.origin for row in rows} == {"catalog"}
    finally:
        engine.dispose()
