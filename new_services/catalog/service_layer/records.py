"""The ACL's published language (``acl.catalog.ProductRecord``) <-> the catalog's domain Product."""

from __future__ import annotations

from acl.catalog import ProductRecord, ProductStatus
from new_services.catalog.domain import CategoryPath, Money, Product, Sku, Status, Stock

__all__ = ["product_from_record", "record_from_product"]


def product_from_record(record: ProductRecord) -> Product:
    """The domain Product for an ACL record (the record is already validated; the domain checks again)."""
    return Product(
        id=record.id,
        sku=Sku(record.sku),
        name=record.name,
        description=record.description,
        price=Money(record.price, record.currency),
        stock=Stock(record.stock),
        status=Status(record.status.value),
        category=CategoryPath(record.category),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def record_from_product(product: Product) -> ProductRecord:
    return ProductRecord(
        id=product.id,
        sku=product.sku.value,
        name=product.name,
        description=product.description,
        price=product.price.amount,
        stock=product.stock.quantity,
        status=ProductStatus(product.status.value),
        category=product.category.segments,
        created_at=product.created_at,
        updated_at=product.updated_at,
        currency=product.price.currency,
    )
