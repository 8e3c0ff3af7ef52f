"""SQLAlchemy Core repositories for orders, checkout sagas and the outbox, on one connection."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from acl.sync.core.versions import version_of, version_set
from acl.sync.service.outbox import record_service_event
from new_services.orders.adapters.tables import (
    checkout_reservations,
    checkouts,
    order_lines,
    order_numbers,
    orders,
)
from new_services.orders.domain import (
    Checkout,
    CheckoutStatus,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Reservation,
    ReservationState,
)
from new_services.orders.service_layer.repository import (
    CheckoutRepository,
    DuplicateIdempotencyKey,
    OrderRepository,
    Outbox,
    OutboxMessage,
)

__all__ = ["SqlCheckoutRepository", "SqlOrderRepository", "SqlOutbox"]


def _aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes: every time in this database is stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class SqlOrderRepository(OrderRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def next_number(self) -> int:
        result = self._connection.execute(insert(order_numbers).values())
        return _inserted_id(result)

    def add(self, order: Order) -> None:
        result = self._connection.execute(
            insert(orders).values(
                order_no=order.order_no,
                customer_id=order.customer_id,
                status=order.status.value,
                total=str(order.total),
                currency=order.total.currency,
                ordered_at=_utc(order.ordered_at),
                checkout_id=order.checkout_id,
            )
        )
        order_id = _inserted_id(result)
        self._connection.execute(
            insert(order_lines),
            [
                {
                    "order_id": order_id,
                    "position": position,
                    "product_id": line.product_id,
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                }
                for position, line in enumerate(order.lines)
            ],
        )

    def get(self, order_no: str) -> Order | None:
        row = self._connection.execute(select(orders).where(orders.c.order_no == order_no)).first()
        if row is None:
            return None
        return self._load([row])[0]

    def save_status(self, order: Order) -> None:
        self._connection.execute(
            update(orders).where(orders.c.order_no == order.order_no).values(status=order.status.value)
        )

    def _visible(self, customer_id: int):
        visible = [status.value for status in OrderStatus if status.visible]
        return (orders.c.customer_id == customer_id) & orders.c.status.in_(visible)

    def count_visible(self, customer_id: int) -> int:
        query = select(func.count()).select_from(orders).where(self._visible(customer_id))
        return int(self._connection.execute(query).scalar_one())

    def list_visible(self, customer_id: int, *, offset: int, limit: int) -> list[Order]:
        query = (
            select(orders)
            .where(self._visible(customer_id))
            .order_by(orders.c.ordered_at.desc(), orders.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return self._load(list(self._connection.execute(query)))

    def _load(self, rows: list) -> list[Order]:
        if not rows:
            return []
        lines_by_order: dict[int, list[OrderLine]] = {row.id: [] for row in rows}
        query = (
            select(order_lines)
            .where(order_lines.c.order_id.in_(list(lines_by_order)))
            .order_by(order_lines.c.order_id, order_lines.c.position)
        )
        for line in self._connection.execute(query):
            lines_by_order[line.order_id].append(
                OrderLine(
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=Money.parse(line.unit_price),
                )
            )
        return [
            Order(
                order_no=row.order_no,
                customer_id=row.customer_id,
                ordered_at=_aware(row.ordered_at),
                lines=tuple(lines_by_order[row.id]),
                status=OrderStatus(row.status),
                checkout_id=row.checkout_id,
            )
            for row in rows
        ]


class SqlCheckoutRepository(CheckoutRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, checkout: Checkout) -> None:
        # The transaction is unusable after a unique violation (PostgreSQL): callers start a new one.
        try:
            self._connection.execute(
                insert(checkouts).values(
                    id=checkout.id,
                    customer_id=checkout.customer_id,
                    idempotency_key=checkout.idempotency_key,
                    fingerprint=checkout.fingerprint,
                    status=checkout.status.value,
                    order_no=checkout.order_no,
                    outcome=None if checkout.outcome is None else json.dumps(checkout.outcome),
                    created_at=_utc(checkout.created_at),
                    attempt=checkout.attempt,
                )
            )
        except IntegrityError as exc:
            raise DuplicateIdempotencyKey(checkout.idempotency_key) from exc
        self._save_reservations(checkout)

    def get(self, checkout_id: str) -> Checkout | None:
        row = self._connection.execute(select(checkouts).where(checkouts.c.id == checkout_id)).first()
        return None if row is None else self._load(row)

    def get_by_key(self, customer_id: int, idempotency_key: str) -> Checkout | None:
        query = select(checkouts).where(
            (checkouts.c.customer_id == customer_id) & (checkouts.c.idempotency_key == idempotency_key)
        )
        row = self._connection.execute(query).first()
        return None if row is None else self._load(row)

    def save(self, checkout: Checkout) -> None:
        result = self._connection.execute(
            update(checkouts)
            .where(checkouts.c.id == checkout.id)
            .values(
                status=checkout.status.value,
                order_no=checkout.order_no,
                outcome=None if checkout.outcome is None else json.dumps(checkout.outcome),
            )
        )
        if result.rowcount != 1:
            raise KeyError(f"checkout {checkout.id} does not exist")
        self._save_reservations(checkout)

    def restart(self, checkout: Checkout) -> bool:
        finished = [status.value for status in CheckoutStatus if status.finished]
        result = self._connection.execute(
            update(checkouts)
            .where(
                (checkouts.c.id == checkout.id)
                & (checkouts.c.attempt == checkout.attempt - 1)
                & checkouts.c.status.in_(finished)
            )
            .values(
                status=checkout.status.value,
                attempt=checkout.attempt,
                order_no=None,
                outcome=None,
                created_at=_utc(checkout.created_at),
            )
        )
        if result.rowcount != 1:
            return False
        self._save_reservations(checkout)
        return True

    def list_unfinished(self, *, started_before: datetime) -> list[Checkout]:
        finished = [status.value for status in CheckoutStatus if status.finished]
        query = (
            select(checkouts)
            .where(checkouts.c.status.not_in(finished) & (checkouts.c.created_at < _utc(started_before)))
            .order_by(checkouts.c.created_at)
        )
        return [self._load(row) for row in self._connection.execute(query).all()]

    def list_unreleased(self, *, started_before: datetime) -> list[Checkout]:
        holding = [ReservationState.IN_DOUBT.value, ReservationState.RESERVED.value]
        in_doubt = select(checkout_reservations.c.checkout_id).where(
            checkout_reservations.c.state.in_(holding)
        )
        query = (
            select(checkouts)
            .where(
                (checkouts.c.status == CheckoutStatus.COMPENSATED.value)
                & (checkouts.c.created_at < _utc(started_before))
                & checkouts.c.id.in_(in_doubt)
            )
            .order_by(checkouts.c.created_at)
        )
        return [self._load(row) for row in self._connection.execute(query).all()]

    def _save_reservations(self, checkout: Checkout) -> None:
        self._connection.execute(
            delete(checkout_reservations).where(checkout_reservations.c.checkout_id == checkout.id)
        )
        if checkout.reservations:
            self._connection.execute(
                insert(checkout_reservations),
                [
                    {
                        "checkout_id": checkout.id,
                        "product_id": r.product_id,
                        "position": position,
                        "quantity": r.quantity,
                        "state": r.state.value,
                    }
                    for position, r in enumerate(checkout.reservations)
                ],
            )

    def _load(self, row) -> Checkout:
        query = (
            select(checkout_reservations)
            .where(checkout_reservations.c.checkout_id == row.id)
            .order_by(checkout_reservations.c.position)
        )
        reservations = [
            Reservation(r.product_id, r.quantity, ReservationState(r.state))
            for r in self._connection.execute(query)
        ]
        return Checkout(
            id=row.id,
            customer_id=row.customer_id,
            fingerprint=row.fingerprint,
            created_at=_aware(row.created_at),
            idempotency_key=row.idempotency_key,
            status=CheckoutStatus(row.status),
            reservations=reservations,
            order_no=row.order_no,
            outcome=None if row.outcome is None else json.loads(row.outcome),
            attempt=row.attempt,
        )


class SqlOutbox(Outbox):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    """The shared ``service_outbox`` of acl.sync, written on the unit of work's connection. An order's
    event counts one more change of the order (``sync_version``) and carries the version it made
    (``ord_ver``): the monolith applies it only when its own version of the order is one behind."""

    def add(self, message: OutboxMessage) -> None:
        payload = message.payload
        if message.aggregate_type == "order":
            version = (version_of(self._connection, "order", message.aggregate_id) or 0) + 1
            version_set(self._connection, "order", message.aggregate_id, version)
            payload = {**payload, "ord_ver": version}
        record_service_event(
            self._connection,
            aggregate_type=message.aggregate_type,
            aggregate_id=message.aggregate_id,
            event_type=message.event_type,
            payload=payload,
            origin=message.origin,
        )


def _inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT added."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT reported no primary key")
    return int(key[0])
