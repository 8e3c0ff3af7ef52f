"""What a legacy order points at, resolved: ``cust_id`` -> the shop account's user id, ``prd_id`` ->
the product's SKU and name. The monolith's order rows and outbox payloads carry only the ids; the
translators take the resolved values as an argument (so they stay pure) and ``LegacyReferenceReader``
reads them from the monolith's tables, read-only, in one query per kind and batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from acl.catalog.legacy_schema import tbl_product
from acl.orders.legacy_schema import tbl_customer

__all__ = ["LegacyReferenceReader", "LegacyReferences", "ProductReference", "referenced_ids"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ProductReference:
    sku: str
    name: str


@dataclass(frozen=True, slots=True)
class LegacyReferences:
    """``customers``: cust_id -> user_id; ``products``: prd_id -> its SKU and name."""

    customers: Mapping[int, int] = field(default_factory=dict)
    products: Mapping[int, ProductReference] = field(default_factory=dict)


def referenced_ids(payloads: Iterable[Mapping[str, Any]]) -> tuple[set[int], set[int]]:
    """The customer and product ids legacy order payloads name (malformed parts are skipped here and
    refused later, by the translators)."""
    customers: set[int] = set()
    products: set[int] = set()
    for payload in payloads:
        if not isinstance(payload, Mapping):
            continue
        if _is_id(payload.get("cust_id")):
            customers.add(payload["cust_id"])
        lines = payload.get("lines")
        for line in lines if isinstance(lines, list) else ():
            if isinstance(line, Mapping) and _is_id(line.get("prd_id")):
                products.add(line["prd_id"])
    return customers, products


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class LegacyReferenceReader:
    """Reads ``tbl_customer`` and ``tbl_product`` through ``engine`` (give it a read-only one)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def resolve(self, customer_ids: Iterable[int], product_ids: Iterable[int]) -> LegacyReferences:
        """The references that exist; an id with no row is simply absent (the translator says so)."""
        customers: dict[int, int] = {}
        products: dict[int, ProductReference] = {}
        wanted_customers, wanted_products = sorted(set(customer_ids)), sorted(set(product_ids))
        if not wanted_customers and not wanted_products:
            return LegacyReferences()
        with self._engine.connect() as connection:
            for start in range(0, len(wanted_customers), _CHUNK):
                chunk = wanted_customers[start : start + _CHUNK]
                rows = connection.execute(
                    select(tbl_customer.c.cust_id, tbl_customer.c.user_id).where(
                        tbl_customer.c.cust_id.in_(chunk)
                    )
                )
                customers.update({row.cust_id: row.user_id for row in rows})
            for start in range(0, len(wanted_products), _CHUNK):
                chunk = wanted_products[start : start + _CHUNK]
                rows = connection.execute(
                    select(tbl_product.c.prd_id, tbl_product.c.prd_cd, tbl_product.c.prd_nm).where(
                        tbl_product.c.prd_id.in_(chunk)
                    )
                )
                products.update({row.prd_id: ProductReference(row.prd_cd, row.prd_nm) for row in rows})
        return LegacyReferences(customers=customers, products=products)
