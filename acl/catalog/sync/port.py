"""The port the catalog service provides so that sync can write legacy products into it and read them back
(its factory is loaded by name, ``acl.sync.core.ports.load_port_factory``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from acl.catalog.records import ProductRecord
from acl.catalog.sync.fields import FieldChange
from acl.sync.core.stock import StockChange

__all__ = ["CatalogPort"]


@runtime_checkable
class CatalogPort(Protocol):
    def apply_products(self, records: Sequence[ProductRecord], *, keep_stock: bool = False) -> int:
        """Upsert ``records`` (each a product's full state) by id in one transaction; return the count.
        ``keep_stock``: a product already held keeps its stock (stock moves by ``apply_stock_changes``)."""

    def apply_stock_changes(
        self, changes: Sequence[StockChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Apply stock changes in order, each exactly once, in one transaction (``acl.sync.core.stock``): one
        outcome per change, ``applied``, ``duplicate``, ``conflict`` (parked) or ``unknown`` (a product
        the service does not hold and ``rows`` does not give)."""

    def apply_field_changes(
        self, changes: Sequence[FieldChange], *, rows: Mapping[int, ProductRecord] | None = None
    ) -> list[str]:
        """Apply changes of products' other fields in order, each exactly once, in one transaction
        (``acl.catalog.sync.fields``): ``applied``, ``duplicate``, ``conflict`` (parked: changed here
        meanwhile; a forced change, an operator's resolution, applies whatever the version, unless it
        expects one this side no longer holds: ``changed``, nothing applied or recorded) or ``unknown``."""

    def has_applied(self, event_id: str) -> bool:
        """Whether the service applied the event ``event_id`` (its inbox holds it)."""

    def fields_version(self, product_id: int) -> int:
        """The product's fields version on the service (0 before the first counted change)."""

    def stock_state(self, product_id: int) -> tuple[int, int] | None:
        """The product's stock and stock version on the service (None without the product)."""

    def resolve_stock(
        self,
        product_id: int,
        level: int,
        *,
        version: int,
        event_id: str,
        updated: str,
        expect_version: int | None = None,
    ) -> str:
        """An operator's resolution of a stock conflict: set ``level`` and take ``version`` at ``updated``
        (the monolith's naive local ISO time) while the stock version is ``expect_version`` (None:
        whatever it is): ``applied``, ``duplicate`` for an ``event_id`` seen before, ``unknown``, or
        ``changed`` (the stock moved since: nothing applied or recorded)."""

    def product_record(self, product_id: int) -> ProductRecord | None:
        """The product the service holds (None without it)."""

    def product_records(self, *, batch_size: int = 1000) -> Iterator[ProductRecord]:
        """Every product the service holds, in id order."""

    def count_products(self) -> int: ...

    def close(self) -> None: ...
