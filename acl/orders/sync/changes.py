"""An order change as the orders consumer hands it to a port that counts order versions.

Order events carry the whole order and the version their change made (see ``acl.sync.core.versions``; the
monolith's field is read by ``acl.orders.versions``). The consumer folds a batch's events of one order
into one change: the last state, the version the first of them expects (its version - 1) and the
version the last one made. A port with ``apply_order_changes`` applies each change only when its count
of the order is the one expected, and parks it as a conflict otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from acl.orders.records import OrderRecord

__all__ = ["OrderChange", "VersionedOrdersPort"]


@dataclass(frozen=True, slots=True)
class OrderChange:
    event_id: str
    """The last event folded into the change (its outcome is the others' too)."""
    origin: str
    record: OrderRecord
    expected_version: int
    """The order's version this change expects on the receiving side."""
    version: int
    """The order's version once the change is applied."""


class VersionedOrdersPort(Protocol):
    def apply_order_changes(self, changes: Sequence[OrderChange]) -> dict[str, str]:
        """Apply each change or park it; ``{event_id: "applied" | "conflict"}``. ``ValueError`` when the
        service's model refuses one (nothing written)."""
