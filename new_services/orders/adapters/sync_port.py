"""The orders service's side of forward sync: ``create_port()`` for the sync processes to load by name
(``new_services.orders.adapters.sync_port:create_port``), so acl never imports the service.

``apply_orders(records)`` takes the ACL's order records, read by attribute (``order_no``,
``customer_user_id``, ``status`` in ``new|paid|shipped|cancelled``, aware ``ordered_at``, ``lines`` of
``product_id, sku, name, quantity, unit_price`` as ``Decimal``/``str``) and upserts them by order number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from new_services.orders.adapters.engine import make_engine
from new_services.orders.adapters.migrate import upgrade_to_head
from new_services.orders.adapters.tables import orders
from new_services.orders.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.orders.config import OrdersSettings
from new_services.orders.domain import Money, Order, OrderLine, OrderStatus
from new_services.orders.service_layer.imports import import_orders

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


class OrdersSyncPort:
    def __init__(self, settings: OrdersSettings) -> None:
        self._engine = make_engine(settings.database_url)
        upgrade_to_head(self._engine)

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._engine)

    def apply_orders(self, records: Sequence[Any]) -> int:
        converted = [order_from_record(record) for record in records]
        return import_orders(self.unit_of_work, converted)

    def count_orders(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(orders)).scalar_one())

    def close(self) -> None:
        self._engine.dispose()


def create_port(settings: OrdersSettings | None = None) -> OrdersSyncPort:
    return OrdersSyncPort(settings or OrdersSettings())
