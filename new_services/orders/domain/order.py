"""An order: lines with prices copied at checkout, a status, a number customers quote."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from new_services.orders.domain.money import Money

__all__ = ["SHOP_TIMEZONE", "InvalidTransition", "Order", "OrderLine", "OrderStatus", "order_number"]

SHOP_TIMEZONE = ZoneInfo("Europe/Berlin")


class OrderStatus(enum.Enum):
    """``PENDING`` exists only inside a checkout saga; customers never see it."""

    PENDING = "pending"
    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"

    @property
    def visible(self) -> bool:
        return self not in (OrderStatus.PENDING, OrderStatus.ABANDONED)


@dataclass(frozen=True, slots=True)
class OrderLine:
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Money

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"an order line needs a positive quantity, got {self.quantity}")

    @property
    def line_total(self) -> Money:
        return self.unit_price * self.quantity


def order_number(number: int, ordered_at: datetime) -> str:
    """``ORD-<shop-local date>-<number, 6+ digits>``, the monolith's format."""
    return f"ORD-{ordered_at.astimezone(SHOP_TIMEZONE):%Y%m%d}-{number:06d}"


class InvalidTransition(ValueError):
    """A status change the order's lifecycle does not allow."""


@dataclass(slots=True)
class Order:
    order_no: str
    customer_id: int
    ordered_at: datetime
    lines: tuple[OrderLine, ...]
    status: OrderStatus = OrderStatus.PENDING
    checkout_id: str | None = None

    def __post_init__(self) -> None:
        if self.ordered_at.tzinfo is None:
            raise ValueError("ordered_at must be timezone-aware")
        if not self.lines:
            raise ValueError("an order needs at least one line")

    @property
    def total(self) -> Money:
        total = Money.zero()
        for line in self.lines:
            total = total + line.line_total
        return total

    def confirm(self) -> None:
        """The saga's last step: the order becomes ``new`` and visible to the customer."""
        if self.status is not OrderStatus.PENDING:
            raise InvalidTransition(f"order {self.order_no} is {self.status.value}, not pending")
        self.status = OrderStatus.NEW

    def abandon(self) -> None:
        """Compensation of "create the order": a pending order is abandoned, never shown."""
        if self.status is not OrderStatus.PENDING:
            raise InvalidTransition(f"order {self.order_no} is {self.status.value}, not pending")
        self.status = OrderStatus.ABANDONED
