"""Saga recovery and its worker: interrupted checkouts are compensated, reservations in doubt settled under
their keys (taken once at most, then released), failures retried next round; a second pass changes nothing.

Each case runs on the in-memory repositories and on the SQL adapters (a SQLite file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from new_services.orders.adapters.memory_repository import MemoryStore, MemoryUnitOfWork
from new_services.orders.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.orders.domain import CheckoutCart, CheckoutStatus, OrderStatus, ReservationState
from new_services.orders.entrypoints.recovery import RecoverySchedule, RoundResult, run_recovery, run_round
from new_services.orders.service_layer import (
    CheckoutSaga,
    PlaceOrder,
    RecoveryIncomplete,
    StockOutcomeUnknown,
    StockUnavailable,
)
from new_services.orders.service_layer.unit_of_work import AbstractUnitOfWork
from tests.unit.orders.fakes import Clock, FakeStock, product
from tests.unit.orders.sql_cases import migrated_engine

pytestmark = pytest.mark.unit

UowFactory = Callable[[], AbstractUnitOfWork]


class Crash(BaseException):
    """The worker process dies in the middle of a step: no compensation runs."""


@pytest.fixture(params=["memory", "sqlite"])
def uow_factory(request: pytest.FixtureRequest, tmp_path) -> Iterator[UowFactory]:
    if request.param == "memory":
        store = MemoryStore()
        yield lambda: MemoryUnitOfWork(store)
        return
    engine = migrated_engine(f"sqlite:///{tmp_path / 'orders.sqlite3'}")
    try:
        yield lambda: SqlAlchemyUnitOfWork(engine)
    finally:
        engine.dispose()


@pytest.fixture
def stock() -> FakeStock:
    return FakeStock({1: product(1, stock=5), 2: product(2, stock=3)})


@pytest.fixture
def clock() -> Clock:
    return Clock()


def saga(uow_factory: UowFactory, stock: FakeStock, clock: Clock) -> CheckoutSaga:
    return CheckoutSaga(uow_factory=uow_factory, stock=stock, clock=clock)


def place(s: CheckoutSaga, *items: tuple[int, int], key: str | None = None):
    return s.place_order(PlaceOrder(7, CheckoutCart.of(list(items)), idempotency_key=key))


def checkout_of(uow_factory: UowFactory, key: str):
    with uow_factory() as uow:
        found = uow.checkouts.get_by_key(7, key)
    assert found is not None
    return found


class ReleaseDown(FakeStock):
    """The stock side answers reservations but every release fails."""

    def release(self, step_id: str, product_id: int, quantity: int) -> None:
        raise StockUnavailable("stock service down")


class CrashAfterApplying(FakeStock):
    """The stock side applied the reservation of ``product_id``; the process died before logging it."""

    crash_on: int | None = None

    def reserve(self, step_id: str, product_id: int, quantity: int):
        answer = super().reserve(step_id, product_id, quantity)
        if product_id == self.crash_on:
            raise Crash()
        return answer


def test_a_reservation_applied_before_the_crash_is_settled_once_then_released(uow_factory, clock):
    stock = CrashAfterApplying({1: product(1, stock=5), 2: product(2, stock=3)})
    stock.crash_on = 2
    with pytest.raises(Crash):
        place(saga(uow_factory, stock, clock), (1, 2), (2, 1), key="k-1")
    assert (stock.stock_of(1), stock.stock_of(2)) == (3, 2)
    stuck = checkout_of(uow_factory, "k-1")
    assert [r.state for r in stuck.reservations] == [ReservationState.RESERVED, ReservationState.RESERVING]

    clock.advance(61)
    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == [stuck.id]

    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 3)  # the settled call took nothing twice
    done = checkout_of(uow_factory, "k-1")
    assert done.status is CheckoutStatus.COMPENSATED
    assert [r.state for r in done.reservations] == [ReservationState.RELEASED, ReservationState.RELEASED]
    calls = list(stock.calls)
    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == []
    assert stock.calls == calls and (stock.stock_of(1), stock.stock_of(2)) == (5, 3)


def test_a_pending_order_is_abandoned_and_its_stock_released(uow_factory, stock, clock):
    class CrashAtConfirm(CheckoutSaga):
        def _confirm(self, checkout, order):
            raise Crash()

    crashing = CrashAtConfirm(uow_factory=uow_factory, stock=stock, clock=clock)
    with pytest.raises(Crash):
        place(crashing, (1, 2), key="k-2")
    stuck = checkout_of(uow_factory, "k-2")
    assert stuck.status is CheckoutStatus.ORDER_CREATED and stock.stock_of(1) == 3

    clock.advance(61)
    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == [stuck.id]
    assert stock.stock_of(1) == 5
    with uow_factory() as uow:
        order = uow.orders.get(stuck.order_no)
    assert order is not None and order.status is OrderStatus.ABANDONED


def test_a_lost_answer_in_a_finished_checkout_is_settled_and_the_key_runs_again(uow_factory, stock, clock):
    stock.fail_reserve[2] = StockOutcomeUnknown("read timeout")  # applied, answer lost
    with pytest.raises(StockOutcomeUnknown):
        place(saga(uow_factory, stock, clock), (1, 1), (2, 1), key="k-3")
    del stock.fail_reserve[2]
    assert stock.stock_of(2) == 2
    assert checkout_of(uow_factory, "k-3").status is CheckoutStatus.COMPENSATED

    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == []  # too young
    clock.advance(61)
    (recovered,) = saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60))

    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 3)
    settled = checkout_of(uow_factory, "k-3")
    assert settled.id == recovered and settled.outcome is not None
    assert settled.outcome["result"] == "failed"
    assert ReservationState.IN_DOUBT not in [r.state for r in settled.reservations]
    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == []
    # nothing in doubt any more: the customer's retry with the same key is placed
    assert place(saga(uow_factory, stock, clock), (1, 1), (2, 1), key="k-3").status is OrderStatus.NEW


def test_a_reservation_never_applied_and_now_refused_is_not_released(uow_factory, stock, clock):
    stock.fail_reserve[2] = Crash()  # died before sending
    with pytest.raises(Crash):
        place(saga(uow_factory, stock, clock), (1, 1), (2, 3), key="k-4")
    del stock.fail_reserve[2]
    stock.products[2] = product(2, stock=1)  # others bought it meanwhile
    clock.advance(61)
    assert len(saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60))) == 1
    states = [r.state for r in checkout_of(uow_factory, "k-4").reservations]
    assert states == [ReservationState.RELEASED, ReservationState.REFUSED]
    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 1)


def test_stock_side_down_leaves_the_checkout_for_the_next_round_and_finishes_the_others(
    uow_factory, stock, clock
):
    stock.fail_reserve[1] = Crash()
    with pytest.raises(Crash):
        place(saga(uow_factory, stock, clock), (1, 1), key="k-5")
    del stock.fail_reserve[1]
    stock.fail_reserve[2] = Crash()
    with pytest.raises(Crash):
        place(saga(uow_factory, stock, clock), (2, 1), key="k-6")
    del stock.fail_reserve[2]
    clock.advance(61)

    class DownFor1(FakeStock):
        def settle(self, step_id: str, product_id: int, quantity: int) -> bool:
            if product_id == 1:
                raise StockUnavailable("stock service down")
            return super().settle(step_id, product_id, quantity)

    first, second = checkout_of(uow_factory, "k-5"), checkout_of(uow_factory, "k-6")
    recovered = saga(uow_factory, DownFor1(stock.products), clock).recover(older_than=timedelta(seconds=60))
    # both finished; k-5's reservation could not be settled: it stays in doubt, never released blindly
    assert sorted(recovered) == sorted([first.id, second.id])
    assert [r.state for r in checkout_of(uow_factory, "k-5").reservations] == [ReservationState.IN_DOUBT]
    assert stock.stock_of(2) == 3

    with pytest.raises(RecoveryIncomplete) as incomplete:
        saga(uow_factory, ReleaseDown(stock.products, stock.reserved_steps), clock).recover(
            older_than=timedelta(seconds=60)
        )
    assert incomplete.value.recovered == [] and list(incomplete.value.failed) == [first.id]

    # the stock side is back: the next round settles and releases it, and the one after finds nothing
    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == [first.id]
    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 3)
    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == []


def test_a_retried_attempt_is_not_taken_for_a_stale_checkout(uow_factory, stock, clock):
    stock.fail_release = None
    stock.fail_reserve[1] = StockUnavailable("down")
    with pytest.raises(StockUnavailable):
        place(saga(uow_factory, stock, clock), (1, 1), key="k-7")
    del stock.fail_reserve[1]
    clock.advance(600)

    class CrashAtConfirm(CheckoutSaga):
        def _confirm(self, checkout, order):
            raise Crash()

    with pytest.raises(Crash):  # the retry, still "running" (its process is stuck) when recovery looks
        place(CrashAtConfirm(uow_factory=uow_factory, stock=stock, clock=clock), (1, 1), key="k-7")
    assert saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60)) == []
    clock.advance(61)
    assert len(saga(uow_factory, stock, clock).recover(older_than=timedelta(seconds=60))) == 1
    assert stock.stock_of(1) == 5


def test_the_worker_runs_rounds_until_stopped_and_survives_a_failing_round(uow_factory, stock, clock):
    stock.fail_reserve[1] = Crash()
    with pytest.raises(Crash):
        place(saga(uow_factory, stock, clock), (1, 2), key="k-8")
    del stock.fail_reserve[1]
    clock.advance(61)

    broken = {"first": True}

    def factory() -> CheckoutSaga:
        if broken.pop("first", False):
            return saga(uow_factory, ReleaseDown(stock.products, stock.reserved_steps), clock)
        return saga(uow_factory, stock, clock)

    stop = threading.Event()
    results: list[RoundResult] = []

    def on_round(result: RoundResult) -> None:
        results.append(result)
        if len(results) == 3:
            stop.set()

    assert run_recovery(factory, RecoverySchedule(every=0.01, older_than=60), stop, on_round=on_round) == 3
    assert not results[0].ok and results[0].failed
    assert results[1].ok and results[1].recovered == [checkout_of(uow_factory, "k-8").id]
    assert results[2].ok and results[2].recovered == []
    assert stock.stock_of(1) == 5


def test_a_round_that_cannot_reach_its_database_is_reported_not_raised(stock, clock):
    def no_database() -> AbstractUnitOfWork:
        raise ConnectionError("database down")

    result = run_round(saga(no_database, stock, clock), older_than=60)
    assert not result.ok and result.error == "database down"


@pytest.mark.parametrize(("every", "older_than"), [(0, 60), (-1, 60), (3601, 60), (10, -1)])
def test_the_schedule_is_bounded(every: float, older_than: float) -> None:
    with pytest.raises(ValueError):
        RecoverySchedule(every=every, older_than=older_than)
    assert RecoverySchedule(every=10, older_than=60).bound == 70
