"""The port a service provides so that sync can write legacy changes into it and read it back.

Sync never imports a service: the service implements ``CatalogPort`` (or ``OrdersPort``) and names a factory
(``"package.module:function"``) that the sync processes load at start, the way gunicorn loads an app.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from acl.catalog.records import ProductRecord
from acl.orders.records import OrderRecord
from acl.sync.fields import FieldChange
from acl.sync.stock import StockChange

__all__ = [
    "CATALOG_PORT_FACTORY",
    "ORDERS_PORT_FACTORY",
    "CatalogPort",
    "OrdersPort",
    "load_port_factory",
]

# The catalog's implementation; override with --port or STRANGLER_SYNC_CATALOG_PORT.
CATALOG_PORT_FACTORY = "new_services.catalog.adapters.sync_port:create_port"
# The orders service's implementation; override with STRANGLER_SYNC_ORDERS_PORT.
ORDERS_PORT_FACTORY = "new_services.orders.adapters.sync_port:create_port"


@runtime_checkable
class CatalogPort(Protocol):
    def apply_products(self, records: Sequence[ProductRecord], *, keep_stock: bool = False) -> int:
        """Upsert ``records`` (each a product's full state) by id in one transaction; return the count.
        ``keep_stock``: a product already held keeps its stock (stock moves by ``apply_stock_changes``)."""

    def apply_stock_changes(
        self, changes: Sequence[StockChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Apply stock changes in order, each exactly once, in one transaction (``acl.sync.stock``): one
        outcome per change, ``applied``, ``duplicate``, ``conflict`` (parked) or ``unknown`` (a product
        the service does not hold and ``rows`` does not give)."""

    def apply_field_changes(
        self, changes: Sequence[FieldChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Apply changes of products' other fields in order, each exactly once, in one transaction
        (``acl.sync.fields``): ``applied``, ``duplicate``, ``conflict`` (parked: changed here meanwhile;
        a forced change, an operator's resolution, applies whatever the version) or ``unknown``."""

    def fields_version(self, product_id: int) -> int:
        """The product's fields version on the service (0 before the first counted change)."""

    def stock_state(self, product_id: int) -> tuple[int, int] | None:
        """The product's stock and stock version on the service (None without the product)."""

    def resolve_stock(self, product_id: int, level: int, *, version: int, event_id: str, updated: str) -> str:
        """An operator's resolution of a stock conflict: set ``level`` whatever the version, which it
        takes, at ``updated`` (the monolith's naive local ISO time): ``applied``, ``duplicate`` for an
        ``event_id`` seen before, ``unknown``."""

    def product_records(self, *, batch_size: int = 1000) -> Iterator[ProductRecord]:
        """Every product the service holds, in id order."""

    def count_products(self) -> int: ...

    def close(self) -> None: ...


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


def load_port_factory(reference: str) -> Callable[[], Any]:
    """``"package.module:function"`` -> the function (it builds the port from its own environment)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a port factory is written 'package.module:function', got {reference!r}")
    module = importlib.import_module(module_name)
    try:
        factory = getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{module_name} has no {attribute!r}") from None
    if not callable(factory):
        raise ValueError(f"{reference} is not callable")
    return factory
