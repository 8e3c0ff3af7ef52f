"""What the service layer refuses, and why. The entrypoints map each to the monolith's error body::

OrdersError
├── OrderNotFound               404 not_found (absent, or another customer's)
├── PageOutOfRange              400 invalid_parameter (field "page")
├── CheckoutRefused             409: nothing changed, asking again will not help
│   ├── InsufficientStock       409 insufficient_stock (product_id, requested, available)
│   └── ProductUnavailable      409 checkout_failed (product gone)
├── IdempotencyError
│   ├── IdempotencyKeyReused    422 idempotency_key_reused (same key, other body)
│   └── CheckoutInProgress      409 checkout_in_progress (same key, first request not finished)
├── StockUnavailable            503 stock_unavailable (the stock service did not answer usably)
│   └── StockOutcomeUnknown     the reservation may or may not have been applied (left in doubt)
├── SessionUnavailable          503 session_unavailable (the monolith's session could not be read)
└── RecoveryIncomplete          saga recovery left some checkouts for its next round (not an answer)
"""

from __future__ import annotations

__all__ = [
    "CheckoutFailed",
    "CheckoutInProgress",
    "CheckoutRefused",
    "IdempotencyError",
    "IdempotencyKeyReused",
    "InsufficientStock",
    "OrderNotFound",
    "OrdersError",
    "PageOutOfRange",
    "ProductUnavailable",
    "RecoveryIncomplete",
    "SessionUnavailable",
    "StockOutcomeUnknown",
    "StockUnavailable",
]


class OrdersError(Exception):
    """Base class of every refusal of the orders service."""


class OrderNotFound(OrdersError):
    def __init__(self, order_no: str) -> None:
        super().__init__(f"Order {order_no} does not exist.")
        self.order_no = order_no


class PageOutOfRange(OrdersError):
    def __init__(self, page: int, num_pages: int) -> None:
        super().__init__(f"page {page} is out of range (1-{num_pages}).")


class CheckoutRefused(OrdersError):
    """The checkout was refused; every reservation it made was released."""


class InsufficientStock(CheckoutRefused):
    def __init__(self, product_id: int, requested: int, available: int, message: str) -> None:
        super().__init__(message)
        self.product_id = product_id
        self.requested = requested
        self.available = available


class ProductUnavailable(CheckoutRefused):
    def __init__(self, product_id: int) -> None:
        super().__init__(f"Product {product_id} no longer exists; remove it from your cart.")
        self.product_id = product_id


class CheckoutFailed(OrdersError):
    """The first attempt under this Idempotency-Key left stock in doubt: it cannot simply run again."""


class IdempotencyError(OrdersError):
    pass


class IdempotencyKeyReused(IdempotencyError):
    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request body.")


class CheckoutInProgress(IdempotencyError):
    def __init__(self) -> None:
        super().__init__("A checkout with this Idempotency-Key is still in progress; retry shortly.")


class StockUnavailable(OrdersError):
    """The stock service could not be used; nothing was reserved by the failing call."""


class StockOutcomeUnknown(StockUnavailable):
    """The reservation call got no answer: it may have been applied."""


class SessionUnavailable(OrdersError):
    """The monolith's session state (the cart to check out) could not be read; nothing was done."""


class RecoveryIncomplete(OrdersError):
    """Saga recovery could not finish some checkouts (the stock side down, say); tried again next round.

    ``recovered``: the ids it did finish; ``failed``: id -> why the others were not.
    """

    def __init__(self, recovered: list[str], failed: dict[str, str]) -> None:
        self.recovered = recovered
        self.failed = failed
        super().__init__(
            f"{len(failed)} checkout(s) could not be recovered: "
            + "; ".join(f"{checkout_id}: {reason}" for checkout_id, reason in failed.items())
        )
