"""Use cases of the orders service: checkout (a saga) and order history."""

from new_services.orders.service_layer.checkout import CheckoutSaga, PlaceOrder
from new_services.orders.service_layer.errors import (
    CheckoutFailed,
    CheckoutInProgress,
    CheckoutRefused,
    IdempotencyKeyReused,
    InsufficientStock,
    OrderNotFound,
    OrdersError,
    PageOutOfRange,
    ProductUnavailable,
    RecoveryIncomplete,
    SessionUnavailable,
    StockOutcomeUnknown,
    StockUnavailable,
)
from new_services.orders.service_layer.ports import SessionCart, SessionCartPort, StockedProduct, StockPort
from new_services.orders.service_layer.queries import OrderPage, get_order, list_orders

__all__ = [
    "CheckoutFailed",
    "CheckoutInProgress",
    "CheckoutRefused",
    "CheckoutSaga",
    "IdempotencyKeyReused",
    "InsufficientStock",
    "OrderNotFound",
    "OrderPage",
    "OrdersError",
    "PageOutOfRange",
    "PlaceOrder",
    "ProductUnavailable",
    "RecoveryIncomplete",
    "SessionCart",
    "SessionCartPort",
    "SessionUnavailable",
    "StockOutcomeUnknown",
    "StockPort",
    "StockUnavailable",
    "StockedProduct",
    "get_order",
    "list_orders",
]
