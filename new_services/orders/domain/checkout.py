"""The checkout saga's log: which step it reached and which stock reservations it holds.

Steps: reserve stock (one reservation per line) -> create the order (pending) -> confirm it.
Compensations run backwards: abandon the pending order, release every reservation that was made.
A reservation whose outcome is unknown (the stock call got no answer) is ``IN_DOUBT``: it is never
released blindly, it is left for reconciliation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Checkout", "CheckoutStatus", "Reservation", "ReservationState"]


class CheckoutStatus(enum.Enum):
    STARTED = "started"
    STOCK_RESERVED = "stock_reserved"
    ORDER_CREATED = "order_created"
    CONFIRMED = "confirmed"
    COMPENSATED = "compensated"

    @property
    def finished(self) -> bool:
        return self in (CheckoutStatus.CONFIRMED, CheckoutStatus.COMPENSATED)


class ReservationState(enum.Enum):
    RESERVING = "reserving"
    RESERVED = "reserved"
    RELEASED = "released"
    REFUSED = "refused"
    IN_DOUBT = "in_doubt"


@dataclass(slots=True)
class Reservation:
    product_id: int
    quantity: int
    state: ReservationState = ReservationState.RESERVING

    @property
    def step_id(self) -> str:
        return f"reserve:{self.product_id}"


@dataclass(slots=True)
class Checkout:
    """One saga instance; ``outcome`` is the answer replayed for a repeated Idempotency-Key."""

    id: str
    customer_id: int
    fingerprint: str
    created_at: datetime
    idempotency_key: str | None = None
    status: CheckoutStatus = CheckoutStatus.STARTED
    reservations: list[Reservation] = field(default_factory=list)
    order_no: str | None = None
    outcome: dict[str, Any] | None = None

    def reservation(self, product_id: int) -> Reservation:
        for reservation in self.reservations:
            if reservation.product_id == product_id:
                return reservation
        raise KeyError(product_id)

    def to_release(self) -> list[Reservation]:
        """Reservations a compensation must give back, newest first."""
        return [r for r in reversed(self.reservations) if r.state is ReservationState.RESERVED]

    def finish(self, status: CheckoutStatus, outcome: dict[str, Any]) -> None:
        self.status = status
        self.outcome = outcome
