"""Stock changes as a service function: one conditional UPDATE and its outbox event, in one transaction."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from legacy_monolith.catalog.events import stock_event_record
from legacy_monolith.catalog.models import Product

__all__ = ["NegativeStock", "product_stock_update"]


class NegativeStock(ValueError):
    """The change would take the stock below zero; nothing was changed."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def product_stock_update(
    *, product: Product, quantity: int | None = None, delta: int | None = None
) -> Product:
    """Set the stock to ``quantity`` or move it by ``delta`` (exactly one); returns the product reloaded."""
    if (quantity is None) == (delta is None):
        raise TypeError("give exactly one of quantity and delta")
    with transaction.atomic():
        rows = Product.objects.filter(pk=product.pk)
        now = timezone.now().replace(microsecond=0)
        if quantity is not None:
            if quantity < 0:
                raise NegativeStock("quantity must not be negative.", "quantity")
            rows.update(stk_qty=quantity, upd_dt=now)
        elif not rows.filter(stk_qty__gte=-delta).update(stk_qty=F("stk_qty") + delta, upd_dt=now):
            product.refresh_from_db()
            raise NegativeStock(f"Stock would become negative: {product.stk_qty} + ({delta}) < 0.", "delta")
        product.refresh_from_db()
        stock_event_record(product=product, delta=delta)
    return product
