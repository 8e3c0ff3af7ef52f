"""The PRODUCT body of the JSON API (see API.md); the Flask catalog service must render the same."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from legacy_monolith.catalog.models import Product
from legacy_monolith.legacyshop.api import local_isoformat

__all__ = ["STATUS_NAMES", "product_to_dict"]

STATUS_NAMES = {Product.STATUS_ACTIVE: "active", Product.STATUS_DISCONTINUED: "discontinued"}


def product_to_dict(product: Product) -> dict[str, Any]:
    return {
        "id": product.prd_id,
        "sku": product.prd_cd,
        "name": product.prd_nm,
        "description": product.prd_desc,
        "price": product.unit_prc,
        "currency": settings.SHOP_CURRENCY,
        "stock": product.stk_qty,
        "status": STATUS_NAMES.get(product.sts_cd, product.sts_cd),
        "category": product.cat_path,
        "created_at": local_isoformat(product.crt_dt),
        "updated_at": local_isoformat(product.upd_dt),
    }
