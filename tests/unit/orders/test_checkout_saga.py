"""The checkout saga with fakes: happy path, compensation on each failing step, idempotency, shadow."""

from __future__ import annotations

from datetime import timedelta

import pytest

from new_services.orders.adapters.memory_repository import MemoryStore, MemoryUnitOfWork
from new_services.orders.domain import CheckoutCart, CheckoutStatus, OrderStatus, ReservationState
from new_services.orders.service_layer import (
    CheckoutFailed,
    CheckoutSaga,
    IdempotencyKeyReused,
    InsufficientStock,
    PlaceOrder,
    ProductUnavailable,
    StockOutcomeUnknown,
    StockUnavailable,
    get_order,
    list_orders,
)
from tests.unit.orders.fakes import Boom, Clock, FailingUnitOfWork, FakeStock, product

pytestmark = pytest.mark.unit


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def stock() -> FakeStock:
    return FakeStock({1: product(1, 5, "19.90"), 2: product(2, 3, "5.00"), 3: product(3, 0, "1.00")})


def saga(store: MemoryStore, stock: FakeStock, fail_on: str | None = None) -> CheckoutSaga:
    def factory() -> MemoryUnitOfWork:
        return FailingUnitOfWork(store, fail_on) if fail_on else MemoryUnitOfWork(store)

    return CheckoutSaga(uow_factory=factory, stock=stock, clock=Clock(), number_offset=500)


def command(*items: tuple[int, int], key: str | None = None, shadow: bool = False) -> PlaceOrder:
    return PlaceOrder(customer_id=7, cart=CheckoutCart.of(items), idempotency_key=key, shadow=shadow)


def the_checkout(store: MemoryStore):
    (checkout,) = store.checkouts.values()
    return checkout


def test_checkout_reserves_stock_creates_and_confirms_the_order(store, stock):
    order = saga(store, stock).place_order(command((2, 2), (1, 1)))

    assert order.status is OrderStatus.NEW
    assert order.order_no == "ORD-20260125-000501"
    assert [(line.product_id, line.quantity, str(line.unit_price)) for line in order.lines] == [
        (1, 1, "19.90"),
        (2, 2, "5.00"),
    ]
    assert str(order.total) == "29.90"
    assert (stock.stock_of(1), stock.stock_of(2)) == (4, 1)
    assert store.orders[order.order_no].status is OrderStatus.NEW
    checkout = the_checkout(store)
    assert checkout.status is CheckoutStatus.CONFIRMED
    assert {r.state for r in checkout.reservations} == {ReservationState.RESERVED}
    (event,) = store.outbox
    assert event.event_type == "order.placed"
    assert event.aggregate_id == order.order_no
    assert event.payload["total"] == "29.90"
    assert event.payload["stock_reserved"] is True
    assert get_order(lambda: MemoryUnitOfWork(store), 7, order.order_no) == order


def test_insufficient_stock_releases_the_lines_already_reserved(store, stock):
    with pytest.raises(InsufficientStock) as refused:
        saga(store, stock).place_order(command((1, 2), (2, 4)))

    assert (refused.value.product_id, refused.value.requested, refused.value.available) == (2, 4, 3)
    assert "you asked for 4, 3 left" in str(refused.value)
    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 3)
    assert ("release", 1, 2) in stock.calls
    assert store.orders == {}
    assert store.outbox == []
    checkout = the_checkout(store)
    assert checkout.status is CheckoutStatus.COMPENSATED
    assert [r.state for r in checkout.reservations] == [ReservationState.RELEASED, ReservationState.REFUSED]


def test_discontinued_product_is_refused_with_the_monoliths_message(store, stock):
    stock.products[2] = product(2, 10, active=False)
    with pytest.raises(InsufficientStock, match="is discontinued and can no longer be ordered"):
        saga(store, stock).place_order(command((2, 1)))


def test_unknown_product_is_refused_and_nothing_stays_reserved(store, stock):
    with pytest.raises(ProductUnavailable):
        saga(store, stock).place_order(command((1, 1), (99, 1)))
    assert stock.stock_of(1) == 5


@pytest.mark.parametrize("step", ["create", "confirm"])
def test_a_failing_later_step_releases_every_reservation(store, stock, step):
    with pytest.raises(Boom):
        saga(store, stock, fail_on=step).place_order(command((1, 2), (2, 1)))

    assert (stock.stock_of(1), stock.stock_of(2)) == (5, 3)
    assert sorted(c for c in stock.calls if c[0] == "release") == [("release", 1, 2), ("release", 2, 1)]
    assert store.outbox == []
    assert all(not order.status.visible for order in store.orders.values())
    assert list_orders(lambda: MemoryUnitOfWork(store), 7, page=1, page_size=20).count == 0
    assert the_checkout(store).status is CheckoutStatus.COMPENSATED


def test_confirm_failure_abandons_the_pending_order(store, stock):
    with pytest.raises(Boom):
        saga(store, stock, fail_on="confirm").place_order(command((1, 1)))
    (order,) = store.orders.values()
    assert order.status is OrderStatus.ABANDONED


def test_stock_service_down_on_a_later_line_releases_the_earlier_ones(store, stock):
    stock.fail_reserve[2] = StockUnavailable("stock service down")
    with pytest.raises(StockUnavailable):
        saga(store, stock).place_order(command((1, 3), (2, 1)))
    assert stock.stock_of(1) == 5


def test_lost_answer_leaves_the_reservation_in_doubt_never_released_blindly(store, stock):
    stock.fail_reserve[2] = StockOutcomeUnknown("read timeout")
    with pytest.raises(StockOutcomeUnknown):
        saga(store, stock).place_order(command((1, 1), (2, 1)))
    assert stock.stock_of(1) == 5  # released
    assert stock.stock_of(2) == 2  # taken by the lost call, left for reconciliation
    states = [r.state for r in the_checkout(store).reservations]
    assert states == [ReservationState.RELEASED, ReservationState.IN_DOUBT]


def test_a_failing_release_keeps_the_saga_open_for_recovery(store, stock):
    stock.fail_release = StockUnavailable("stock service down")
    with pytest.raises(StockUnavailable):
        saga(store, stock, fail_on="create").place_order(command((1, 1)))
    checkout = the_checkout(store)
    assert checkout.status is CheckoutStatus.STOCK_RESERVED
    assert checkout.to_release()[0].product_id == 1


def test_same_key_same_cart_returns_the_same_order_without_a_second_one(store, stock):
    first = saga(store, stock).place_order(command((1, 2), key="k-1"))
    again = saga(store, stock).place_order(command((1, 2), key="k-1"))

    assert again == first
    assert len(store.orders) == 1
    assert stock.stock_of(1) == 3
    assert [c for c in stock.calls if c[0] == "reserve"] == [("reserve", 1, 2)]


def test_same_key_other_cart_is_refused(store, stock):
    saga(store, stock).place_order(command((1, 2), key="k-1"))
    with pytest.raises(IdempotencyKeyReused):
        saga(store, stock).place_order(command((1, 3), key="k-1"))
    assert stock.stock_of(1) == 3


def test_keys_are_per_customer(store, stock):
    saga(store, stock).place_order(command((1, 1), key="k-1"))
    other = PlaceOrder(customer_id=8, cart=CheckoutCart.of([(1, 1)]), idempotency_key="k-1")
    saga(store, stock).place_order(other)
    assert len(store.orders) == 2


def test_a_refusal_is_replayed_for_the_same_key(store, stock):
    with pytest.raises(InsufficientStock):
        saga(store, stock).place_order(command((2, 9), key="k-2"))
    stock.products[2] = product(2, 50, "5.00")
    with pytest.raises(InsufficientStock) as replayed:
        saga(store, stock).place_order(command((2, 9), key="k-2"))
    assert replayed.value.available == 3
    assert store.orders == {}


def test_a_failed_and_undone_attempt_runs_again_under_the_same_key(store, stock):
    with pytest.raises(Boom):
        saga(store, stock, fail_on="create").place_order(command((1, 1), key="k-3"))
    assert stock.stock_of(1) == 5

    order = saga(store, stock).place_order(command((1, 1), key="k-3"))
    assert order.status is OrderStatus.NEW and stock.stock_of(1) == 4
    checkout = the_checkout(store)
    assert (checkout.attempt, checkout.status) == (2, CheckoutStatus.CONFIRMED)
    assert len(stock.reserved_steps) == 2  # each attempt reserves under its own step id
    assert saga(store, stock).place_order(command((1, 1), key="k-3")) == order


def test_an_attempt_that_left_stock_in_doubt_is_not_run_again(store, stock):
    stock.fail_reserve[1] = StockOutcomeUnknown("read timeout")
    with pytest.raises(StockOutcomeUnknown):
        saga(store, stock).place_order(command((1, 1), key="k-5"))
    del stock.fail_reserve[1]
    with pytest.raises(CheckoutFailed, match="reconciliation"):
        saga(store, stock).place_order(command((1, 1), key="k-5"))
    assert stock.stock_of(1) == 4  # only the lost call's unit


def test_shadow_checkout_reserves_nothing_and_leaves_nothing(store, stock):
    order = saga(store, stock).place_order(command((1, 2), key="k-4", shadow=True))

    assert order.status is OrderStatus.NEW
    assert str(order.total) == "39.80"
    assert stock.stock_of(1) == 5
    assert [c[0] for c in stock.calls] == ["product"]
    assert store.orders == {} and store.checkouts == {} and store.outbox == [] and store.last_number == 0
    # the key was not consumed: a real checkout with it goes through
    real = saga(store, stock).place_order(command((1, 2), key="k-4"))
    assert real.status is OrderStatus.NEW and stock.stock_of(1) == 3


def test_shadow_checkout_refuses_like_the_real_one(store, stock):
    with pytest.raises(InsufficientStock) as refused:
        saga(store, stock).place_order(command((3, 1), shadow=True))
    assert refused.value.available == 0


class Crash(BaseException):
    """The worker dies in the middle of a step: no compensation runs."""


def test_recover_compensates_a_saga_interrupted_by_a_crash(store, stock):
    clock = Clock()
    crashing = FakeStock(stock.products)
    crashing.fail_reserve[2] = Crash()

    def factory() -> MemoryUnitOfWork:
        return MemoryUnitOfWork(store)

    saga_ = CheckoutSaga(uow_factory=factory, stock=crashing, clock=clock)
    with pytest.raises(Crash):
        saga_.place_order(command((1, 2), (2, 1), key="k-crash"))
    assert crashing.stock_of(1) == 3
    assert the_checkout(store).status is CheckoutStatus.STARTED

    assert saga_.recover(older_than=timedelta(seconds=300)) == []  # too young: maybe still running
    clock.advance(301)
    del crashing.fail_reserve[2]
    (recovered,) = saga_.recover(older_than=timedelta(seconds=300))

    checkout = the_checkout(store)
    assert recovered == checkout.id and checkout.status is CheckoutStatus.COMPENSATED
    assert crashing.stock_of(1) == 5 and crashing.stock_of(2) == 3
    # the reservation logged as being made was settled under its key (applied once), then released
    assert [r.state for r in checkout.reservations] == [ReservationState.RELEASED, ReservationState.RELEASED]
    assert saga_.recover(older_than=timedelta(seconds=300)) == []
    # nothing left in doubt: the same key may run the checkout again
    assert saga_.place_order(command((1, 2), (2, 1), key="k-crash")).status is OrderStatus.NEW
    assert crashing.stock_of(1) == 3 and crashing.stock_of(2) == 2


def test_recover_finishes_a_compensation_whose_release_failed(store, stock):
    clock = Clock()
    stock.fail_release = StockUnavailable("down")
    saga_ = CheckoutSaga(uow_factory=lambda: FailingUnitOfWork(store, "create"), stock=stock, clock=clock)
    with pytest.raises(StockUnavailable):
        saga_.place_order(command((1, 2)))
    assert stock.stock_of(1) == 3
    stock.fail_release = None
    clock.advance(600)
    recovering = CheckoutSaga(uow_factory=lambda: MemoryUnitOfWork(store), stock=stock, clock=clock)
    assert len(recovering.recover(older_than=timedelta(seconds=300))) == 1
    assert stock.stock_of(1) == 5
