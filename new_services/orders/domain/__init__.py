"""The orders domain: no framework, no database, no legacy vocabulary."""

from new_services.orders.domain.cart import MAX_LINE_QUANTITY, CartLine, CheckoutCart, EmptyCart, InvalidCart
from new_services.orders.domain.checkout import Checkout, CheckoutStatus, Reservation, ReservationState
from new_services.orders.domain.money import CURRENCY, Money
from new_services.orders.domain.order import SHOP_TIMEZONE, Order, OrderLine, OrderStatus, order_number

__all__ = [
    "CURRENCY",
    "MAX_LINE_QUANTITY",
    "SHOP_TIMEZONE",
    "CartLine",
    "Checkout",
    "CheckoutCart",
    "CheckoutStatus",
    "EmptyCart",
    "InvalidCart",
    "Money",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Reservation",
    "ReservationState",
    "order_number",
]
