"""Checkout as a saga: reserve stock -> create the order (pending) -> confirm it.

Each step is logged in the checkout row before and after it runs, in its own transaction, so a
crash leaves a record of what must be compensated. When a step fails, compensations run backwards:
the pending order is abandoned, every reservation made is released. A repeated ``Idempotency-Key``
with the same cart gets the first attempt's outcome (the same order, or the same refusal), or, when
that attempt failed and was fully undone (a 5xx), runs again; with a different cart it is refused.

Shadow checkouts (``shadow=True``) read stock but reserve nothing, and run in one transaction that is
rolled back: no order, no checkout row, no outbox message survives them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from new_services.kit.tracing import step_span
from new_services.orders.domain import (
    Checkout,
    CheckoutCart,
    CheckoutStatus,
    Order,
    OrderLine,
    OrderStatus,
    Reservation,
    ReservationState,
    order_number,
)
from new_services.orders.service_layer.errors import (
    CheckoutFailed,
    CheckoutInProgress,
    CheckoutRefused,
    IdempotencyKeyReused,
    InsufficientStock,
    OrderNotFound,
    ProductUnavailable,
    RecoveryIncomplete,
    StockOutcomeUnknown,
    StockUnavailable,
)
from new_services.orders.service_layer.events import order_placed
from new_services.orders.service_layer.ports import StockedProduct, StockPort
from new_services.orders.service_layer.repository import DuplicateIdempotencyKey
from new_services.orders.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["CheckoutSaga", "PlaceOrder", "insufficient_stock_message"]

log = structlog.get_logger("orders.checkout")
UowFactory = Callable[[], AbstractUnitOfWork]


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    customer_id: int
    cart: CheckoutCart
    idempotency_key: str | None = None
    shadow: bool = False


def insufficient_stock_message(product: StockedProduct, requested: int) -> str:
    """The monolith's wording, so that the error body reads the same on both sides."""
    if not product.active:
        return f"{product.name} ({product.sku}) is discontinued and can no longer be ordered."
    return (
        f"Not enough stock for {product.name} ({product.sku}): "
        f"you asked for {requested}, {product.stock} left."
    )


class CheckoutSaga:
    """Orchestrates one checkout; built per request with the request's collaborators."""

    def __init__(
        self,
        *,
        uow_factory: UowFactory,
        stock: StockPort,
        clock: Callable[[], datetime],
        number_offset: int = 0,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._uow_factory = uow_factory
        self._stock = stock
        self._clock = clock
        self._number_offset = number_offset
        self._new_id = new_id

    # --- public -------------------------------------------------------------------------------------

    def place_order(self, command: PlaceOrder) -> Order:
        if command.shadow:
            return self._shadow(command)
        checkout, replay = self._begin(command)
        if replay is not None:
            return replay
        try:
            with step_span("saga reserve stock", checkout_id=checkout.id):
                products = self._reserve_stock(checkout, command)
            with step_span("saga create order", checkout_id=checkout.id):
                order = self._create_order(checkout, command, products)
            with step_span("saga confirm", checkout_id=checkout.id):
                return self._confirm(checkout, order)
        except CheckoutRefused as exc:
            with step_span("saga compensate", checkout_id=checkout.id, reason="refused"):
                self._compensate(checkout, _refusal_outcome(exc))
            raise
        except Exception as exc:
            with step_span("saga compensate", checkout_id=checkout.id, reason="failed"):
                self._compensate(checkout, {"result": "failed", "message": str(exc) or type(exc).__name__})
            raise

    def replay(self, customer_id: int, idempotency_key: str) -> Order | None:
        """The order a finished checkout under ``idempotency_key`` placed, if any: what a retry gets
        once the first attempt has emptied the session cart. ``CheckoutInProgress`` while it runs."""
        previous = self._previous(customer_id, idempotency_key)
        if previous is None:
            return None
        if not previous.status.finished or previous.outcome is None:
            raise CheckoutInProgress()
        if previous.outcome["result"] != "order":
            return None
        with self._uow_factory() as uow:
            return uow.orders.get(previous.outcome["order_no"])

    def recover(self, *, older_than: timedelta) -> list[str]:
        """Finish what crashes and lost answers left behind; the ids of the sagas it changed.

        A saga left unfinished (a crashed worker, a release that failed) is compensated: its pending
        order abandoned, its stock released. A reservation whose outcome is unknown (logged as being
        made when the process died, or in doubt after a lost answer) is first settled with the stock
        side under its idempotency key (``StockPort.settle``): applied once at most, then released like
        the others. Compensated sagas still holding stock (a reservation in doubt, a release that
        failed) are settled and released the same way. Every saga is tried even when one fails; then
        ``RecoveryIncomplete`` names the failures. ``older_than`` must exceed the longest a request may
        run (gunicorn's timeout), so that no live checkout is touched.
        """
        started_before = self._clock() - older_than
        with self._uow_factory() as uow:
            stale = uow.checkouts.list_unfinished(started_before=started_before)
            doubtful = uow.checkouts.list_unreleased(started_before=started_before)
        recovered: list[str] = []
        failed: dict[str, str] = {}
        interrupted = {"result": "failed", "message": "the checkout was interrupted and has been undone"}
        for checkout in [*stale, *doubtful]:
            was_finished = checkout.status.finished
            try:
                self._settle(checkout)
                if was_finished and not checkout.to_release():
                    continue  # still in doubt: the stock side could not tell yet
                outcome = checkout.outcome if was_finished and checkout.outcome else interrupted
                self._compensate(checkout, outcome)
            except Exception as exc:
                log.error("checkout recovery failed", checkout_id=checkout.id, error=str(exc), exc_info=True)
                failed[checkout.id] = str(exc) or type(exc).__name__
                continue
            recovered.append(checkout.id)
        if failed:
            raise RecoveryIncomplete(recovered, failed)
        return recovered

    def _settle(self, checkout: Checkout) -> bool:
        """Turn each reservation of unknown outcome into RESERVED (to release) or REFUSED; one the stock
        side cannot answer for stays IN_DOUBT. True when any was settled."""
        settled = False
        for reservation in checkout.reservations:
            if reservation.state not in (ReservationState.RESERVING, ReservationState.IN_DOUBT):
                continue
            try:
                stands = self._stock.settle(
                    checkout.step_id(reservation), reservation.product_id, reservation.quantity
                )
            except StockUnavailable as exc:
                reservation.state = ReservationState.IN_DOUBT
                log.warning("reservation still in doubt", checkout_id=checkout.id, error=str(exc))
                continue
            reservation.state = ReservationState.RESERVED if stands else ReservationState.REFUSED
            settled = True
        if settled:
            self._save(checkout)
        return settled

    # --- steps --------------------------------------------------------------------------------------

    def _begin(self, command: PlaceOrder) -> tuple[Checkout, Order | None]:
        fingerprint = command.cart.fingerprint()
        checkout = Checkout(
            id=self._new_id(),
            customer_id=command.customer_id,
            fingerprint=fingerprint,
            created_at=self._clock(),
            idempotency_key=command.idempotency_key,
        )
        if command.idempotency_key is not None:
            previous = self._previous(command.customer_id, command.idempotency_key)
            if previous is not None:
                return self._replay_or_retry(previous, fingerprint)
        try:
            with self._uow_factory() as uow:
                uow.checkouts.add(checkout)
                uow.commit()
        except DuplicateIdempotencyKey:
            assert command.idempotency_key is not None
            previous = self._previous(command.customer_id, command.idempotency_key)
            if previous is None:
                raise
            return self._replay_or_retry(previous, fingerprint)
        log.info("checkout started", checkout_id=checkout.id, lines=len(command.cart.lines))
        return checkout, None

    def _reserve_stock(self, checkout: Checkout, command: PlaceOrder) -> dict[int, StockedProduct]:
        products: dict[int, StockedProduct] = {}
        for line in command.cart.lines:
            reservation = Reservation(line.product_id, line.quantity)
            checkout.reservations.append(reservation)
            self._save(checkout)  # logged as RESERVING before the call
            try:
                products[line.product_id] = self._stock.reserve(
                    checkout.step_id(reservation), line.product_id, line.quantity
                )
            except StockOutcomeUnknown:
                reservation.state = ReservationState.IN_DOUBT
                raise
            except Exception:
                reservation.state = ReservationState.REFUSED
                raise
            reservation.state = ReservationState.RESERVED
            self._save(checkout)
        checkout.status = CheckoutStatus.STOCK_RESERVED
        self._save(checkout)
        return products

    def _create_order(
        self, checkout: Checkout, command: PlaceOrder, products: dict[int, StockedProduct]
    ) -> Order:
        with self._uow_factory() as uow:
            order = self._build_order(uow, command, products, checkout_id=checkout.id)
            uow.orders.add(order)
            checkout.status = CheckoutStatus.ORDER_CREATED
            checkout.order_no = order.order_no
            uow.checkouts.save(checkout)
            uow.commit()
        return order

    def _confirm(self, checkout: Checkout, order: Order) -> Order:
        with self._uow_factory() as uow:
            order.confirm()
            uow.orders.save_status(order)
            uow.outbox.add(order_placed(order))
            checkout.finish(CheckoutStatus.CONFIRMED, {"result": "order", "order_no": order.order_no})
            uow.checkouts.save(checkout)
            uow.commit()
        log.info("checkout confirmed", checkout_id=checkout.id, order_no=order.order_no)
        return order

    # --- compensations ------------------------------------------------------------------------------

    def _compensate(self, checkout: Checkout, outcome: dict[str, Any]) -> None:
        """Undo what was done, newest first; a failed release leaves the saga open (and raises)."""
        if checkout.order_no is not None:
            with self._uow_factory() as uow:
                order = uow.orders.get(checkout.order_no)
                if order is not None and order.status is OrderStatus.PENDING:
                    order.abandon()
                    uow.orders.save_status(order)
                    uow.commit()
        for reservation in checkout.to_release():
            self._stock.release(checkout.step_id(reservation), reservation.product_id, reservation.quantity)
            reservation.state = ReservationState.RELEASED
            self._save(checkout)
        in_doubt = [r.product_id for r in checkout.reservations if r.state is ReservationState.IN_DOUBT]
        if in_doubt:
            log.error("checkout left stock reservations in doubt", checkout_id=checkout.id, products=in_doubt)
        checkout.finish(CheckoutStatus.COMPENSATED, outcome)
        self._save(checkout)
        log.info("checkout compensated", checkout_id=checkout.id, outcome=outcome.get("result"))

    # --- idempotency --------------------------------------------------------------------------------

    def _previous(self, customer_id: int, key: str) -> Checkout | None:
        with self._uow_factory() as uow:
            return uow.checkouts.get_by_key(customer_id, key)

    def _replay_or_retry(self, previous: Checkout, fingerprint: str) -> tuple[Checkout, Order | None]:
        """The first attempt's order, its refusal raised again, or (after a failure) a new attempt."""
        if previous.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        outcome = previous.outcome
        if not previous.status.finished or outcome is None:
            raise CheckoutInProgress()
        if outcome["result"] == "order":
            with self._uow_factory() as uow:
                order = uow.orders.get(outcome["order_no"])
            if order is None:
                raise OrderNotFound(outcome["order_no"])
            return previous, order
        if previous.retryable:
            previous.restart()
            previous.created_at = self._clock()  # a new attempt: recovery must not take it for a stale one
            with self._uow_factory() as uow:
                if not uow.checkouts.restart(previous):
                    raise CheckoutInProgress()
                uow.commit()
            log.info("checkout retried", checkout_id=previous.id, attempt=previous.attempt)
            return previous, None
        if outcome["result"] == "insufficient_stock":
            raise InsufficientStock(
                outcome["product_id"], outcome["requested"], outcome["available"], outcome["message"]
            )
        if outcome["result"] == "product_unavailable":
            raise ProductUnavailable(outcome["product_id"])
        raise CheckoutFailed(
            "The first attempt with this Idempotency-Key could not be completed and awaits reconciliation; "
            "use a new key."
        )

    # --- shadow -------------------------------------------------------------------------------------

    def _shadow(self, command: PlaceOrder) -> Order:
        products: dict[int, StockedProduct] = {}
        for line in command.cart.lines:
            product = self._stock.product(line.product_id)
            if not product.active or product.stock < line.quantity:
                raise InsufficientStock(
                    line.product_id,
                    line.quantity,
                    product.stock,
                    insufficient_stock_message(product, line.quantity),
                )
            products[line.product_id] = product
        with self._uow_factory() as uow:
            order = self._build_order(uow, command, products, checkout_id=None)
            uow.orders.add(order)
            order.confirm()
            uow.orders.save_status(order)
            uow.outbox.add(order_placed(order))
            uow.rollback()
        return order

    # --- helpers ------------------------------------------------------------------------------------

    def _build_order(
        self,
        uow: AbstractUnitOfWork,
        command: PlaceOrder,
        products: dict[int, StockedProduct],
        *,
        checkout_id: str | None,
    ) -> Order:
        now = self._clock().replace(microsecond=0)
        number = self._number_offset + uow.orders.next_number()
        lines = tuple(
            OrderLine(
                product_id=line.product_id,
                sku=products[line.product_id].sku,
                name=products[line.product_id].name,
                quantity=line.quantity,
                unit_price=products[line.product_id].unit_price,
            )
            for line in command.cart.lines
        )
        return Order(
            order_no=order_number(number, now),
            customer_id=command.customer_id,
            ordered_at=now,
            lines=lines,
            checkout_id=checkout_id,
        )

    def _save(self, checkout: Checkout) -> None:
        with self._uow_factory() as uow:
            uow.checkouts.save(checkout)
            uow.commit()


def _refusal_outcome(exc: CheckoutRefused) -> dict[str, Any]:
    if isinstance(exc, InsufficientStock):
        return {
            "result": "insufficient_stock",
            "product_id": exc.product_id,
            "requested": exc.requested,
            "available": exc.available,
            "message": str(exc),
        }
    if isinstance(exc, ProductUnavailable):
        return {"result": "product_unavailable", "product_id": exc.product_id, "message": str(exc)}
    return {"result": "failed", "message": str(exc)}
