"""Orders domain: money, carts, orders and their numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from new_services.orders.domain import (
    CheckoutCart,
    EmptyCart,
    InvalidCart,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    order_number,
)
from new_services.orders.domain.order import InvalidTransition

pytestmark = pytest.mark.unit


def test_money_parses_and_prints_two_places():
    assert str(Money.parse("19.9")) == "19.90"
    assert str(Money.parse("19.90") * 3) == "59.70"
    with pytest.raises(ValueError):
        Money.parse("abc")
    with pytest.raises(ValueError):
        Money(Decimal("-1"))


def test_cart_merges_sorts_caps_and_refuses_bad_lines():
    cart = CheckoutCart.of([(5, 60), (2, 1), (5, 60)])
    assert [(line.product_id, line.quantity) for line in cart.lines] == [(2, 1), (5, 99)]
    assert cart.fingerprint() == CheckoutCart.of([(2, 1), (5, 99)]).fingerprint()
    assert cart.fingerprint() != CheckoutCart.of([(2, 2), (5, 99)]).fingerprint()
    with pytest.raises(EmptyCart):
        CheckoutCart.of([])
    with pytest.raises(InvalidCart):
        CheckoutCart.of([(1, 0)])
    with pytest.raises(InvalidCart):
        CheckoutCart.of([(0, 1)])


def test_order_number_uses_the_shop_local_date():
    assert order_number(42, datetime(2026, 1, 25, 23, 30, tzinfo=UTC)) == "ORD-20260126-000042"
    assert order_number(1234567, datetime(2026, 7, 1, 12, tzinfo=UTC)) == "ORD-20260701-1234567"


def test_order_lifecycle_and_total():
    line = OrderLine(1, "LS-000001", "Knife", 2, Money.parse("19.90"))
    order = Order("ORD-1", 7, datetime(2026, 1, 1, tzinfo=UTC), (line, line))
    assert str(order.total) == "79.60"
    assert not order.status.visible
    order.confirm()
    assert order.status is OrderStatus.NEW and order.status.visible
    with pytest.raises(InvalidTransition):
        order.abandon()
    with pytest.raises(ValueError):
        Order("ORD-2", 7, datetime(2026, 1, 1), (line,))
