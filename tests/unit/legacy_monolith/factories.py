"""Small builders for shop rows; every argument has a sensible default."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.contrib.auth import get_user_model

from legacy_monolith.catalog.models import Category, Product
from legacy_monolith.customers.models import Customer

__all__ = ["make_category", "make_customer", "make_product", "make_staff"]

_counter = itertools.count(1)
PASSWORD = "test-password-123"


def make_category(path: str = "Home>Kitchen>Knives") -> Category:
    parent = None
    parts = path.split(">")
    for depth in range(1, len(parts) + 1):
        sub_path = ">".join(parts[:depth])
        parent, _ = Category.objects.get_or_create(
            cat_path=sub_path, defaults={"ctg_nm": parts[depth - 1], "parent": parent}
        )
    return parent


def make_product(
    *,
    name: str | None = None,
    sku: str | None = None,
    price: str = "19.90",
    stock: int = 10,
    status: str = Product.STATUS_ACTIVE,
    category: str = "Home>Kitchen>Knives",
    created: datetime = datetime(2016, 3, 1, 10, 0, 0),
    updated: datetime = datetime(2016, 7, 1, 12, 30, 0),
) -> Product:
    number = next(_counter)
    product = Product(
        prd_cd=sku or f"LS-T{number:05d}",
        prd_nm=name or f"Test product {number}",
        prd_desc="A product for tests.",
        unit_prc=price,
        stk_qty=stock,
        sts_cd=status,
        ctg=make_category(category),
        crt_dt=created,
        upd_dt=updated,
    )
    product.save()
    return product


def make_customer(username: str | None = None, password: str = PASSWORD) -> Customer:
    username = username or f"customer{next(_counter)}"
    user = get_user_model().objects.create_user(username=username, password=password)
    return Customer.objects.create(user=user, cust_nm=username.title(), crt_dt=datetime(2020, 1, 1, 8, 0, 0))


def make_staff(username: str = "clerk", password: str = PASSWORD):
    return get_user_model().objects.create_user(username=username, password=password, is_staff=True)
