"""The orders service's side of forward sync: ``create_port()`` for the sync processes to load by name
(``new_services.orders.adapters.sync_port:create_port``), so acl never imports the service.

``apply_orders(records)`` takes the ACL's order records, read by attribute (``order_no``,
``customer_user_id``, ``status`` in ``new|paid|shipped|cancelled``, aware ``ordered_at``, ``lines`` of
``product_id, sku, name, quantity, unit_price`` as ``Decimal``/``str``) and upserts them by order number.
``order_records()`` reads every visible order back as ``acl.orders.OrderRecord`` (for reconcile).
``apply_order_changes(changes)`` takes ``acl.orders.sync.changes.OrderChange`` (a record and the order's
version it expects and makes): applied only when the service's version of the order is the expected
one (or the service never counted a change of it), otherwise parked in ``sync_conflict`` with both
statuses: a status changed on the service meanwhile is never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from acl.orders.records import OrderLineRecord, OrderRecord
from acl.orders.records import OrderStatus as RecordStatus
from acl.sync.core.versions import park_version_conflict, version_of, version_set
from new_services.kit.engine import make_engine
from new_services.orders.adapters.migrate import MIGRATIONS
from new_services.orders.adapters.sql_repository import SqlOrderRepository
from new_services.orders.adapters.tables import order_lines, orders
from new_services.orders.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.orders.domain import Money, Order, OrderLine, OrderStatus
from new_services.orders.service_layer.imports import import_orders
from new_services.orders.settings import OrdersSettings

__all__ = ["OrdersSyncPort", "create_port", "order_from_record"]


def order_from_record(record: Any) -> Order:
    """An ACL order record -> a domain order; ValueError (never a silent fix) on anything odd."""
    status = OrderStatus(str(getattr(record.status, "value", record.status)))
    lines = tuple(
        OrderLine(
            product_id=int(line.product_id),
            sku=str(line.sku),
            name=str(line.name),
            quantity=int(line.quantity),
            unit_price=Money.parse(str(line.unit_price)),
        )
        for line in record.lines
    )
    return Order(
        order_no=str(record.order_no),
        customer_id=int(record.customer_user_id),
        ordered_at=record.ordered_at,
        lines=lines,
        status=status,
    )


def _aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: every time in this database is stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OrdersSyncPort:
    def __init__(self, settings: OrdersSettings) -> None:
        self._engine = make_engine(settings.database_url)
        MIGRATIONS.upgrade_to_head(self._engine)

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._engine)

    def apply_orders(self, records: Sequence[Any]) -> int:
        converted = [order_from_record(record) for record in records]
        return import_orders(self.unit_of_work, converted)

    def apply_order_changes(self, changes: Sequence[Any]) -> dict[str, str]:
        """``{event_id: "applied" | "conflict"}``, in one transaction; ``ValueError`` (nothing written)
        when the model refuses one."""
        outcomes: dict[str, str] = {}
        with self._engine.begin() as connection:
            repository = SqlOrderRepository(connection)
            for change in changes:
                order = order_from_record(change.record)
                if not order.status.visible:
                    raise ValueError(f"order {order.order_no}: a synced order cannot be {order.status.value}")
                current = version_of(connection, "order", order.order_no, lock=True)
                held = repository.get(order.order_no)
                if held is not None and current is not None and current != change.expected_version:
                    park_version_conflict(
                        connection,
                        event_id=change.event_id,
                        origin=change.origin,
                        aggregate_type="order",
                        aggregate_id=order.order_no,
                        field="status",
                        ours=held.status.value,
                        theirs=order.status.value,
                        expected=change.expected_version,
                        found=current,
                    )
                    outcomes[change.event_id] = "conflict"
                    continue
                if held is None:
                    repository.add(order)
                elif held.status is not order.status:
                    repository.save_status(order)
                version_set(connection, "order", order.order_no, change.version)
                outcomes[change.event_id] = "applied"
        return outcomes

    def record_order_versions(self, versions: Mapping[str, int]) -> None:
        """A backfill copied these orders as of these versions (order number -> the monolith's count):
        the count here is raised to it, never lowered."""
        with self._engine.begin() as connection:
            for order_no, version in versions.items():
                current = version_of(connection, "order", order_no, lock=True)
                if current is None or current < version:
                    version_set(connection, "order", order_no, version)

    def order_records(self, *, batch_size: int = 1000) -> Iterator[OrderRecord]:
        """Every order a customer can see, in order-number order, ``batch_size`` orders per read."""
        visible = [status.value for status in OrderStatus if status.visible]
        after = ""
        while True:
            with self._engine.connect() as connection:
                rows = list(
                    connection.execute(
                        select(orders)
                        .where(orders.c.order_no > after, orders.c.status.in_(visible))
                        .order_by(orders.c.order_no)
                        .limit(batch_size)
                    )
                )
                if not rows:
                    return
                lines: dict[int, list[OrderLineRecord]] = {row.id: [] for row in rows}
                for line in connection.execute(
                    select(order_lines)
                    .where(order_lines.c.order_id.in_(list(lines)))
                    .order_by(order_lines.c.order_id, order_lines.c.position)
                ):
                    lines[line.order_id].append(
                        OrderLineRecord(
                            product_id=line.product_id,
                            sku=line.sku,
                            name=line.name,
                            quantity=line.quantity,
                            unit_price=Decimal(line.unit_price),
                        )
                    )
            for row in rows:
                yield OrderRecord(
                    order_no=row.order_no,
                    customer_user_id=row.customer_id,
                    status=RecordStatus(row.status),
                    ordered_at=_aware(row.ordered_at),
                    lines=tuple(lines[row.id]),
                    total=Decimal(row.total),
                    currency=row.currency,
                )
            after = rows[-1].order_no
            if len(rows) < batch_size:
                return

    def count_orders(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(orders)).scalar_one())

    def close(self) -> None:
        self._engine.dispose()


def create_port(settings: OrdersSettings | None = None) -> OrdersSyncPort:
    return OrdersSyncPort(settings or OrdersSettings())
