"""In-memory storage with real transaction semantics (work on a copy, commit swaps it in).

Used by the unit tests and handy for experiments; not for production (one process only).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime

from new_services.orders.domain import Checkout, CheckoutStatus, Order, ReservationState
from new_services.orders.service_layer.repository import (
    CheckoutRepository,
    DuplicateIdempotencyKey,
    OrderRepository,
    Outbox,
    OutboxMessage,
)
from new_services.orders.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["MemoryStore", "MemoryUnitOfWork"]


@dataclass
class MemoryStore:
    orders: dict[str, Order] = field(default_factory=dict)
    checkouts: dict[str, Checkout] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    last_number: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def snapshot(self) -> MemoryStore:
        return MemoryStore(
            orders=copy.deepcopy(self.orders),
            checkouts=copy.deepcopy(self.checkouts),
            outbox=list(self.outbox),
            last_number=self.last_number,
        )


class MemoryOrderRepository(OrderRepository):
    def __init__(self, data: MemoryStore) -> None:
        self._data = data

    def next_number(self) -> int:
        self._data.last_number += 1
        return self._data.last_number

    def add(self, order: Order) -> None:
        if order.order_no in self._data.orders:
            raise ValueError(f"order {order.order_no} exists")
        self._data.orders[order.order_no] = copy.deepcopy(order)

    def get(self, order_no: str) -> Order | None:
        order = self._data.orders.get(order_no)
        return copy.deepcopy(order) if order is not None else None

    def save_status(self, order: Order) -> None:
        self._data.orders[order.order_no].status = order.status

    def _visible(self, customer_id: int) -> list[Order]:
        return [o for o in self._data.orders.values() if o.customer_id == customer_id and o.status.visible]

    def count_visible(self, customer_id: int) -> int:
        return len(self._visible(customer_id))

    def list_visible(self, customer_id: int, *, offset: int, limit: int) -> list[Order]:
        orders = sorted(self._visible(customer_id), key=lambda o: (o.ordered_at, o.order_no), reverse=True)
        return copy.deepcopy(orders[offset : offset + limit])


_HOLDING = (ReservationState.IN_DOUBT, ReservationState.RESERVED)


class MemoryCheckoutRepository(CheckoutRepository):
    def __init__(self, data: MemoryStore) -> None:
        self._data = data

    def add(self, checkout: Checkout) -> None:
        if checkout.idempotency_key is not None and self.get_by_key(
            checkout.customer_id, checkout.idempotency_key
        ):
            raise DuplicateIdempotencyKey(checkout.idempotency_key)
        self._data.checkouts[checkout.id] = copy.deepcopy(checkout)

    def get(self, checkout_id: str) -> Checkout | None:
        return copy.deepcopy(self._data.checkouts.get(checkout_id))

    def get_by_key(self, customer_id: int, idempotency_key: str) -> Checkout | None:
        for checkout in self._data.checkouts.values():
            if checkout.customer_id == customer_id and checkout.idempotency_key == idempotency_key:
                return copy.deepcopy(checkout)
        return None

    def save(self, checkout: Checkout) -> None:
        if checkout.id not in self._data.checkouts:
            raise KeyError(checkout.id)
        self._data.checkouts[checkout.id] = copy.deepcopy(checkout)

    def restart(self, checkout: Checkout) -> bool:
        held = self._data.checkouts.get(checkout.id)
        if held is None or held.attempt != checkout.attempt - 1 or not held.status.finished:
            return False
        self._data.checkouts[checkout.id] = copy.deepcopy(checkout)
        return True

    def list_unfinished(self, *, started_before: datetime) -> list[Checkout]:
        found = [
            c
            for c in self._data.checkouts.values()
            if not c.status.finished and c.created_at < started_before
        ]
        return copy.deepcopy(sorted(found, key=lambda c: c.created_at))

    def list_unreleased(self, *, started_before: datetime) -> list[Checkout]:
        found = [
            c
            for c in self._data.checkouts.values()
            if c.status is CheckoutStatus.COMPENSATED
            and c.created_at < started_before
            and any(r.state in _HOLDING for r in c.reservations)
        ]
        return copy.deepcopy(sorted(found, key=lambda c: c.created_at))


class MemoryOutbox(Outbox):
    def __init__(self, data: MemoryStore) -> None:
        self._data = data

    def add(self, message: OutboxMessage) -> None:
        self._data.outbox.append(message)


class MemoryUnitOfWork(AbstractUnitOfWork):
    """Each ``with`` block works on a snapshot of ``store``; ``commit`` publishes it atomically.

    Sequential use only: two interleaved units of work would overwrite each other's commits.
    """

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._work: MemoryStore | None = None
        self.committed = False

    def __enter__(self) -> MemoryUnitOfWork:
        self._begin()
        return self

    def _begin(self) -> None:
        with self._store.lock:
            self._work = self._store.snapshot()
        self.orders = MemoryOrderRepository(self._work)
        self.checkouts = MemoryCheckoutRepository(self._work)
        self.outbox = MemoryOutbox(self._work)

    def commit(self) -> None:
        if self._work is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        with self._store.lock:
            self._store.orders = self._work.orders
            self._store.checkouts = self._work.checkouts
            self._store.outbox = self._work.outbox
            self._store.last_number = self._work.last_number
        self.committed = True
        self._begin()

    def rollback(self) -> None:
        if self._work is not None:
            self._work = None
