"""Write use cases: set the stock to a counted level, move it by a signed number of units, or change a
product's name, description or price."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from new_services.catalog.domain import Money, Product
from new_services.catalog.service_layer.errors import NegativeStock, ProductNotFound
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork

__all__ = ["adjust_stock", "change_product", "set_stock"]

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def set_stock(uow: AbstractUnitOfWork, product_id: int, quantity: int, *, clock: Clock = _utcnow) -> Product:
    """Replace the stock level of a product; the change is announced in the same unit of work."""
    with uow:
        product = _load(uow, product_id)
        if quantity < 0:
            raise NegativeStock("quantity must not be negative.", "quantity")
        product.set_stock(quantity, now=clock())
        uow.products.save(product)
        uow.record_stock_change(product, delta=None)
        uow.commit()
    return product


def adjust_stock(uow: AbstractUnitOfWork, product_id: int, delta: int, *, clock: Clock = _utcnow) -> Product:
    """Reserve (``delta < 0``) or release (``delta > 0``) units; NegativeStock below zero."""
    with uow:
        product = _load(uow, product_id)
        available = product.stock.quantity
        if available + delta < 0:
            raise NegativeStock(f"Stock would become negative: {available} + ({delta}) < 0.", "delta")
        if delta < 0:
            product.reserve(-delta, now=clock())
        elif delta > 0:
            product.release(delta, now=clock())
        else:  # a zero move still counts as a write, as on the monolith (``updated_at`` moves)
            product.set_stock(available, now=clock())
        uow.products.save(product)
        uow.record_stock_change(product, delta=delta)
        uow.commit()
    return product


def change_product(
    uow: AbstractUnitOfWork,
    product_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    price: Money | None = None,
    clock: Clock = _utcnow,
) -> Product:
    """Change the given fields (None keeps one); the change, if any, is announced in the same unit of
    work with the fields that changed."""
    with uow:
        product = _load(uow, product_id)
        changed = product.change_details(now=clock(), name=name, description=description, price=price)
        if changed:
            uow.products.save(product)
            uow.record_field_change(product, changed)
        uow.commit()
    return product


def _load(uow: AbstractUnitOfWork, product_id: int) -> Product:
    product = uow.products.get_for_update(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    return product
