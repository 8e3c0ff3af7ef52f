"""The checkout saga's log: which step it reached and which stock reservations it holds.

Steps: reserve stock (one reservation per line) -> create the order (pending) -> confirm it.
Compensations run backwards: abandon the pending order, release every reservation that was made.
A reservation whose outcome is unknown (the stock call got no answer) is ``IN_DOUBT``: it is never
released blindly, it is left for reconciliation. A saga that failed (rather than being refused) and
was fully compensated may run again under the same Idempotency-Key, as a new ``attempt``.
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
    attempt: int = 1

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

    def step_id(self, reservation: Reservation) -> str:
        """Unique per saga, attempt and line: what an idempotent stock adapter keys on."""
        return f"{self.id}:{self.attempt}:{reservation.step_id}"

    @property
    def retryable(self) -> bool:
        """Failed (not refused), fully compensated, nothing in doubt: the same key may run it again."""
        return (
            self.status is CheckoutStatus.COMPENSATED
            and self.outcome is not None
            and self.outcome.get("result") == "failed"
            and all(r.state is not ReservationState.IN_DOUBT for r in self.reservations)
        )

    def restart(self) -> None:
        """A new attempt of a retryable saga under the same Idempotency-Key."""
        if not self.retryable:
            raise ValueError(f"checkout {self.id} cannot be restarted")
        self.attempt += 1
        self.status = CheckoutStatus.STARTED
        self.reservations = []
        self.order_no = None
        self.outcome = None
