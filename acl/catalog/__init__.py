"""The catalog's side of the ACL: product records, translators, a paged legacy source and a backfill."""

from acl.catalog.backfill import BackfillReport, ProductSink, backfill_products
from acl.catalog.records import CURRENCY, ProductRecord, ProductStatus
from acl.catalog.source import LegacyProductSource
from acl.catalog.translators import (
    product_from_legacy_json,
    product_from_legacy_row,
    product_to_legacy_json,
    product_to_legacy_row,
)

__all__ = [
    "CURRENCY",
    "BackfillReport",
    "LegacyProductSource",
    "ProductRecord",
    "ProductSink",
    "ProductStatus",
    "backfill_products",
    "product_from_legacy_json",
    "product_from_legacy_row",
    "product_to_legacy_json",
    "product_to_legacy_row",
]
