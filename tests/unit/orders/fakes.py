"""Fakes for the orders unit tests: a stock port with real stock counts, and a failing unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from new_services.orders.adapters.memory_repository import MemoryStore, MemoryUnitOfWork
from new_services.orders.domain import Money
from new_services.orders.service_layer import (
    InsufficientStock,
    ProductUnavailable,
    StockedProduct,
    StockOutcomeUnknown,
    StockUnavailable,
)
from new_services.orders.service_layer.checkout import insufficient_stock_message


def product(product_id: int, stock: int, price: str = "19.90", active: bool = True) -> StockedProduct:
    return StockedProduct(
        product_id=product_id,
        sku=f"LS-{product_id:06d}",
        name=f"Product {product_id}",
        unit_price=Money.parse(price),
        stock=stock,
        active=active,
    )


@dataclass
class FakeStock:
    """Stock counts per product; ``reserve``/``release`` are idempotent per step id, like a good adapter."""

    products: dict[int, StockedProduct]
    reserved_steps: set[str] = field(default_factory=set)
    released_steps: set[str] = field(default_factory=set)
    calls: list[tuple[str, int, int]] = field(default_factory=list)
    fail_reserve: dict[int, Exception] = field(default_factory=dict)
    fail_release: Exception | None = None

    def stock_of(self, product_id: int) -> int:
        return self.products[product_id].stock

    def product(self, product_id: int) -> StockedProduct:
        self.calls.append(("product", product_id, 0))
        if product_id not in self.products:
            raise ProductUnavailable(product_id)
        return self.products[product_id]

    def reserve(self, step_id: str, product_id: int, quantity: int) -> StockedProduct:
        self.calls.append(("reserve", product_id, quantity))
        if product_id in self.fail_reserve:
            error = self.fail_reserve[product_id]
            if isinstance(error, StockOutcomeUnknown):  # applied, but the answer was lost
                self.reserved_steps.add(step_id)
                self._take(product_id, quantity)
            raise error
        if step_id in self.reserved_steps:
            return self.products[product_id]
        if product_id not in self.products:
            raise ProductUnavailable(product_id)
        current = self.products[product_id]
        if not current.active or current.stock < quantity:
            raise InsufficientStock(
                product_id, quantity, current.stock, insufficient_stock_message(current, quantity)
            )
        self.reserved_steps.add(step_id)
        return self._take(product_id, quantity)

    def _take(self, product_id: int, quantity: int) -> StockedProduct:
        current = self.products[product_id]
        self.products[product_id] = replace(current, stock=current.stock - quantity)
        return self.products[product_id]

    def settle(self, step_id: str, product_id: int, quantity: int) -> bool:
        """Idempotent per step id, like the monolith's keyed stock call: a reservation that was applied
        stands (taken once); one that was not is applied now when the stock allows it."""
        self.calls.append(("settle", product_id, quantity))
        if self.fail_release is not None:
            raise self.fail_release
        if step_id in self.reserved_steps:
            return True
        current = self.products.get(product_id)
        if current is None or current.stock < quantity:
            return False
        self.reserved_steps.add(step_id)
        self._take(product_id, quantity)
        return True

    def release(self, step_id: str, product_id: int, quantity: int) -> None:
        self.calls.append(("release", product_id, quantity))
        if self.fail_release is not None:
            raise self.fail_release
        if step_id in self.released_steps:
            return
        self.released_steps.add(step_id)
        current = self.products[product_id]
        self.products[product_id] = replace(current, stock=current.stock + quantity)


class Boom(RuntimeError):
    """A failure injected into a step."""


class FailingUnitOfWork(MemoryUnitOfWork):
    """Raises ``Boom`` when the saga adds an order (``"create"``) or an outbox message (``"confirm"``)."""

    def __init__(self, store: MemoryStore, fail_on: str) -> None:
        super().__init__(store)
        self._fail_on = fail_on

    def __enter__(self) -> FailingUnitOfWork:
        super().__enter__()
        if self._fail_on == "create":
            self.orders.add = self._boom  # type: ignore[method-assign]
        if self._fail_on == "confirm":
            self.outbox.add = self._boom  # type: ignore[method-assign]
        return self

    @staticmethod
    def _boom(*_: object) -> None:
        raise Boom("injected failure")


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 25, 13, 3, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


__all__ = ["Boom", "Clock", "FailingUnitOfWork", "FakeStock", "StockUnavailable", "product"]


@dataclass
class FakeSessionCarts:
    """The monolith's sessions as the bridge shows them: ``{session key: (user id, {product: qty})}``."""

    sessions: dict[str, tuple[int | None, dict[int, int]]] = field(default_factory=dict)
    reads: int = 0
    before: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)
    """``{session key: {request id: {product: qty}}}``: the cart as it was before that request."""
    asked_before: list[str | None] = field(default_factory=list)

    def read(self, session_key: str, *, before_request: str | None = None):  # -> SessionCart | None
        from new_services.orders.domain import CheckoutCart, EmptyCart
        from new_services.orders.service_layer import SessionCart

        self.reads += 1
        if session_key not in self.sessions:
            return None
        user_id, quantities = self.sessions[session_key]
        self.asked_before.append(before_request)
        if before_request is not None:
            quantities = self.before.get(session_key, {}).get(before_request, quantities)
        try:
            cart = CheckoutCart.of(quantities.items())
        except EmptyCart:
            cart = None
        return SessionCart(user_id=user_id, cart=cart, version=dict(quantities))

    def remove_checked_out(self, session_key: str, version: object, ordered) -> bool:
        user_id, quantities = self.sessions[session_key]
        left = {pid: qty - ordered.get(pid, 0) for pid, qty in quantities.items()}
        self.sessions[session_key] = (user_id, {pid: qty for pid, qty in left.items() if qty > 0})
        return True
