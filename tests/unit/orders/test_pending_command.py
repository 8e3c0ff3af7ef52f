"""`python -m new_services.orders pending`: the read-only count of checkouts left unfinished, and of
compensated ones still holding stock, that `strangler drill orders-crash` checks after recovery."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from new_services.orders.__main__ import main
from new_services.orders.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.orders.domain import CheckoutCart
from new_services.orders.service_layer import CheckoutSaga, PlaceOrder
from tests.unit.orders.fakes import Clock, FakeStock, product
from tests.unit.orders.sql_cases import migrated_engine

pytestmark = pytest.mark.unit


class Crash(BaseException):
    """The worker process dies in the middle of a step: no compensation runs."""


class CrashOnReserve(FakeStock):
    def reserve(self, step_id: str, product_id: int, quantity: int):  # type: ignore[no-untyped-def]
        super().reserve(step_id, product_id, quantity)
        raise Crash()


def _pending(capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    assert main(["pending"]) == 0
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


def test_pending_counts_a_crashed_checkout_until_recovery_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'orders.sqlite3'}"
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))
    monkeypatch.setenv("ORDERS_DATABASE_URL", url)
    engine = migrated_engine(url)
    try:
        clock = Clock()
        stock = CrashOnReserve({1: product(1, stock=5)})
        saga = CheckoutSaga(uow_factory=lambda: SqlAlchemyUnitOfWork(engine), stock=stock, clock=clock)
        assert _pending(capsys) == {"unfinished": 0, "unreleased": 0}
        with pytest.raises(Crash):
            saga.place_order(PlaceOrder(7, CheckoutCart.of([(1, 2)]), idempotency_key="k"))
        assert _pending(capsys) == {"unfinished": 1, "unreleased": 0}, "whatever its age"
        survivor = FakeStock(stock.products, reserved_steps=stock.reserved_steps)  # what the stock side did
        recovering = CheckoutSaga(
            uow_factory=lambda: SqlAlchemyUnitOfWork(engine), stock=survivor, clock=clock
        )
        clock.advance(600)
        assert len(recovering.recover(older_than=timedelta(minutes=5))) == 1
        assert _pending(capsys) == {"unfinished": 0, "unreleased": 0}
    finally:
        engine.dispose()
