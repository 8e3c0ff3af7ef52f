"""Cases run against the SQL adapters on any database URL (SQLite here, PostgreSQL in integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, inspect, select

from acl.sync.core.tables import service_outbox
from new_services.kit.engine import make_engine
from new_services.orders.adapters.migrate import MIGRATIONS
from new_services.orders.adapters.tables import checkouts, order_numbers, orders
from new_services.orders.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.orders.domain import Checkout, CheckoutCart, OrderStatus
from new_services.orders.service_layer import (
    CheckoutSaga,
    IdempotencyKeyReused,
    InsufficientStock,
    PlaceOrder,
    list_orders,
)
from new_services.orders.service_layer.repository import DuplicateIdempotencyKey
from tests.unit.orders.fakes import Boom, Clock, FakeStock, product

__all__ = ["migrated_engine", "run_sql_cases"]


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    assert MIGRATIONS.current_revision(engine) is None
    MIGRATIONS.upgrade_to_head(engine)
    assert MIGRATIONS.current_revision(engine) == MIGRATIONS.head_revision()
    _assert_outbox_has_acl_sync_shape(engine)
    return engine


def _assert_outbox_has_acl_sync_shape(engine: Engine) -> None:
    """The migration writes ``service_outbox`` by hand: it must stay what acl.sync's relay reads."""
    inspector = inspect(engine)
    columns = {
        c["name"]: (c["nullable"], type(c["type"]).__name__) for c in inspector.get_columns("service_outbox")
    }
    expected = {c.name: c.nullable for c in service_outbox.columns}
    assert {name: nullable for name, (nullable, _) in columns.items()} == expected
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("service_outbox")}
    assert ("aggregate_type", "aggregate_id", "sequence") in uniques


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def run_sql_cases(engine: Engine) -> None:
    stock = FakeStock({1: product(1, 5, "19.90"), 2: product(2, 3, "5.00")})
    clock = Clock()

    def saga() -> CheckoutSaga:
        return CheckoutSaga(uow_factory=lambda: SqlAlchemyUnitOfWork(engine), stock=stock, clock=clock)

    def place(*items: tuple[int, int], key: str | None = None, shadow: bool = False, customer: int = 7):
        command = PlaceOrder(customer, CheckoutCart.of(items), idempotency_key=key, shadow=shadow)
        return saga().place_order(command)

    # a checkout round-trips through the database: order, lines, outbox message, saga log
    order = place((2, 1), (1, 2), key="k-1")
    assert order.order_no == "ORD-20260125-000001"
    page = list_orders(lambda: SqlAlchemyUnitOfWork(engine), 7, page=1, page_size=20)
    assert page.count == 1 and page.orders == [order]
    assert page.orders[0].ordered_at == datetime(2026, 1, 25, 13, 3, tzinfo=UTC)
    with engine.connect() as connection:
        (event,) = connection.execute(select(service_outbox)).all()
    assert (event.aggregate_type, event.aggregate_id, event.sequence) == ("order", order.order_no, 1)
    assert (event.event_type, event.origin, event.published_at) == ("order.placed", "orders", None)
    assert event.payload["lines"][0] == {
        "product_id": 1,
        "sku": "LS-000001",
        "name": "Product 1",
        "quantity": 2,
        "unit_price": "19.90",
    }

    # idempotency survives the database
    assert place((1, 2), (2, 1), key="k-1") == order
    with pytest.raises(IdempotencyKeyReused):
        place((1, 1), key="k-1")
    assert (_count(engine, orders), stock.stock_of(1)) == (1, 3)

    # the unique constraint catches a second row with the same key (two workers racing)
    with SqlAlchemyUnitOfWork(engine) as uow, pytest.raises(DuplicateIdempotencyKey):
        uow.checkouts.add(Checkout("other-id", 7, "f" * 64, clock(), idempotency_key="k-1"))
        uow.commit()

    # a refusal leaves no visible order and a compensated saga
    with pytest.raises(InsufficientStock):
        place((1, 1), (2, 9))
    assert stock.stock_of(1) == 3

    # shadow: answered, then rolled back: no order, no number, no outbox row, no checkout row
    before = {t.name: _count(engine, t) for t in (orders, service_outbox, checkouts, order_numbers)}
    shadow = place((1, 1), shadow=True)
    assert shadow.status is OrderStatus.NEW
    assert {t.name: _count(engine, t) for t in (orders, service_outbox, checkouts, order_numbers)} == before
    assert stock.stock_of(1) == 3

    # a failing confirm step abandons the pending order in the database and releases the stock
    class FailingOutbox(SqlAlchemyUnitOfWork):
        def __enter__(self):  # type: ignore[no-untyped-def]
            super().__enter__()
            self.outbox.add = lambda message: (_ for _ in ()).throw(Boom("outbox down"))  # type: ignore[method-assign]
            return self

    failing = CheckoutSaga(uow_factory=lambda: FailingOutbox(engine), stock=stock, clock=clock)
    with pytest.raises(Boom):
        failing.place_order(PlaceOrder(7, CheckoutCart.of([(1, 1)])))
    assert stock.stock_of(1) == 3
    with engine.connect() as connection:
        statuses = sorted(connection.execute(select(orders.c.status)).scalars())
    assert statuses == [OrderStatus.ABANDONED.value, OrderStatus.NEW.value]
    assert list_orders(lambda: SqlAlchemyUnitOfWork(engine), 7, page=1, page_size=20).count == 1

    # a saga interrupted by a crash is found and compensated by recover()
    class Crash(BaseException):
        pass

    stock.fail_reserve[2] = Crash()
    with pytest.raises(Crash):
        place((1, 1), (2, 1), key="k-crash")
    del stock.fail_reserve[2]
    assert stock.stock_of(1) == 2
    assert saga().recover(older_than=timedelta(seconds=60)) == []
    clock.advance(61)
    assert len(saga().recover(older_than=timedelta(seconds=60))) == 1
    assert stock.stock_of(1) == 3
    assert saga().recover(older_than=timedelta(seconds=60)) == []

    # a failed, fully undone attempt runs again under its key; a stale restart loses the compare-and-set
    class FailingCreate(SqlAlchemyUnitOfWork):
        def __enter__(self):  # type: ignore[no-untyped-def]
            super().__enter__()
            self.orders.add = lambda order: (_ for _ in ()).throw(Boom("create failed"))  # type: ignore[method-assign]
            return self

    with pytest.raises(Boom):
        CheckoutSaga(uow_factory=lambda: FailingCreate(engine), stock=stock, clock=clock).place_order(
            PlaceOrder(7, CheckoutCart.of([(1, 1)]), idempotency_key="k-retry")
        )
    with SqlAlchemyUnitOfWork(engine) as uow:
        failed = uow.checkouts.get_by_key(7, "k-retry")
    assert failed is not None and failed.retryable
    retried = place((1, 1), key="k-retry")
    assert retried.status is OrderStatus.NEW and stock.stock_of(1) == 2
    failed.restart()
    with SqlAlchemyUnitOfWork(engine) as uow:
        assert uow.checkouts.restart(failed) is False  # attempt 2 exists already
        assert uow.checkouts.get_by_key(7, "k-retry").attempt == 2
