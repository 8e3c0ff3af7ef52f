"""Repository ports of the orders service: orders, checkout sagas, and the outbox."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from new_services.orders.domain import Checkout, Order

__all__ = [
    "CheckoutRepository",
    "DuplicateIdempotencyKey",
    "OrderRepository",
    "Outbox",
    "OutboxMessage",
]


class DuplicateIdempotencyKey(Exception):
    """Another checkout already holds this (customer, Idempotency-Key)."""


class OrderRepository(abc.ABC):
    @abc.abstractmethod
    def next_number(self) -> int:
        """A number never handed out before (rolled back with the transaction where possible)."""

    @abc.abstractmethod
    def add(self, order: Order) -> None: ...

    @abc.abstractmethod
    def get(self, order_no: str) -> Order | None: ...

    @abc.abstractmethod
    def save_status(self, order: Order) -> None: ...

    @abc.abstractmethod
    def count_visible(self, customer_id: int) -> int: ...

    @abc.abstractmethod
    def list_visible(self, customer_id: int, *, offset: int, limit: int) -> list[Order]:
        """Confirmed orders of ``customer_id``, newest first (ties: higher number first)."""


class CheckoutRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, checkout: Checkout) -> None:
        """Raises ``DuplicateIdempotencyKey`` (possibly only at commit) when the key is taken."""

    @abc.abstractmethod
    def get(self, checkout_id: str) -> Checkout | None: ...

    @abc.abstractmethod
    def get_by_key(self, customer_id: int, idempotency_key: str) -> Checkout | None: ...

    @abc.abstractmethod
    def save(self, checkout: Checkout) -> None:
        """Persist status, order number, outcome and every reservation's state."""

    @abc.abstractmethod
    def restart(self, checkout: Checkout) -> bool:
        """Store ``checkout`` (just restarted) only if it is still the finished previous attempt.

        False when another request restarted it first (compare-and-set on ``attempt``).
        """

    @abc.abstractmethod
    def list_unfinished(self, *, started_before: datetime) -> list[Checkout]:
        """Sagas neither confirmed nor compensated that started before ``started_before``, oldest first."""

    @abc.abstractmethod
    def list_unreleased(self, *, started_before: datetime) -> list[Checkout]:
        """Compensated sagas that started before ``started_before`` and still hold stock: a reservation in
        doubt, or one settled but not released yet (the release failed). Oldest first."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One event for the reverse sync to the monolith (relayed by ``python -m acl.sync reverse``).

    The adapter gives it an event id, the aggregate's next sequence and the time it was written.
    """

    aggregate_type: str
    aggregate_id: str
    event_type: str
    payload: dict[str, Any]
    origin: str = "orders"


class Outbox(abc.ABC):
    @abc.abstractmethod
    def add(self, message: OutboxMessage) -> None: ...
