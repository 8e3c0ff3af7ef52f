"""Write use cases on stock: set it to a counted level, or move it by a signed number of units."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from new_services.catalog.domain import Product
from new_services.catalog.service_layer.errors import ProductNotFound
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["adjust_stock", "set_stock"]

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def set_stock(uow: AbstractUnitOfWork, product_id: int, quantity: int, *, clock: Clock = _utcnow) -> Product:
    """Replace the stock level of a product."""
    with uow:
        product = _load(uow, product_id)
        product.set_stock(quantity, now=clock())
        uow.products.save(product)
        uow.commit()
    return product


def adjust_stock(uow: AbstractUnitOfWork, product_id: int, delta: int, *, clock: Clock = _utcnow) -> Product:
    """Reserve (``delta < 0``) or release (``delta > 0``) units; InsufficientStock below zero."""
    with uow:
        product = _load(uow, product_id)
        if delta < 0:
            product.reserve(-delta, now=clock())
        else:
            product.release(delta, now=clock())
        uow.products.save(product)
        uow.commit()
    return product


def _load(uow: AbstractUnitOfWork, product_id: int) -> Product:
    product = uow.products.get(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    return product
