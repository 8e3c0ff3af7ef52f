"""The port the orders service provides so that sync can write legacy orders into it and read them back
(its factory is loaded by name, ``acl.sync.core.ports.load_port_factory``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from acl.orders.records import OrderRecord

__all__ = ["OrdersPort"]


@runtime_checkable
class OrdersPort(Protocol):
    def apply_orders(self, records: Sequence[OrderRecord]) -> int:
        """Upsert ``records`` (each an order's full state) by order number in one transaction; return
        the count. An order already held takes the new status only (its lines are history). Raises
        ``ValueError`` when the service's model refuses a record (nothing is written then)."""

    def order_records(self, *, batch_size: int = 1000) -> Iterator[OrderRecord]:
        """Every order the service holds that a customer can see, in order-number order."""

    def count_orders(self) -> int: ...

    def close(self) -> None: ...
