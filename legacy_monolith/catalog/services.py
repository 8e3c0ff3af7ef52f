"""Product changes as service functions: each change and its outbox event in one transaction (stock: one
conditional UPDATE; name, description, price: the locked row, with the product's fields version)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from legacy_monolith.catalog.events import fields_event_record, stock_event_record
from legacy_monolith.catalog.models import Product

__all__ = ["NegativeStock", "product_fields_update", "product_stock_update"]


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


def product_fields_update(*, product: Product, columns: dict[str, str]) -> Product:
    """Set ``columns`` (``prd_nm``, ``prd_desc``, ``unit_prc``, already checked) of the product; the
    change, when something changed, travels with the product's next fields version. Returns the product
    reloaded."""
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        changed = [column for column, value in columns.items() if getattr(locked, column) != value]
        if changed:
            for column in changed:
                setattr(locked, column, columns[column])
            locked.upd_dt = timezone.now().replace(microsecond=0)
            locked.save(update_fields=[*changed, "upd_dt"])
            fields_event_record(product=locked, changed=changed)
    product.refresh_from_db()
    return product
