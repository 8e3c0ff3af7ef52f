"""Product searches shared by the shop pages and the JSON API."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, Q, QuerySet
from django.db.models.functions import Cast

from legacy_monolith.catalog.models import Product

__all__ = ["SORT_FIELDS", "category_filter", "search_products"]

SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("prd_id",),
    "name": ("prd_nm", "prd_id"),
    "-name": ("-prd_nm", "-prd_id"),
    "price": ("price_num", "prd_id"),
    "-price": ("-price_num", "-prd_id"),
    "sku": ("prd_cd",),
    "-sku": ("-prd_cd",),
}


def category_filter(path: str) -> Q:
    """Products in the category ``path`` or below it ("Home>Kitchen" matches "Home>Kitchen>Knives")."""
    return Q(cat_path=path) | Q(cat_path__startswith=path + ">")


def search_products(
    *,
    q: str = "",
    category: str = "",
    status: str | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    sort: str = "id",
) -> QuerySet[Product]:
    """A queryset of products; every argument is already validated."""
    products = Product.objects.all()
    if q:
        products = products.filter(Q(prd_nm__icontains=q) | Q(prd_cd__icontains=q))
    if category:
        products = products.filter(category_filter(category))
    if status:
        products = products.filter(sts_cd=status)
    if min_price is not None or max_price is not None or sort in ("price", "-price"):
        products = products.annotate(
            price_num=Cast("unit_prc", DecimalField(max_digits=17, decimal_places=2))
        )
        if min_price is not None:
            products = products.filter(price_num__gte=min_price)
        if max_price is not None:
            products = products.filter(price_num__lte=max_price)
    return products.order_by(*SORT_FIELDS[sort])
