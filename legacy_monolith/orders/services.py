"""Checkout as a service function: one transaction, stock decremented atomically, all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from legacy_monolith.catalog.events import stock_event_record
from legacy_monolith.catalog.models import Product
from legacy_monolith.customers.models import Customer
from legacy_monolith.orders.events import order_event_record
from legacy_monolith.orders.models import Order, OrderLine

__all__ = ["CheckoutError", "EmptyCart", "InsufficientStock", "customer_for_user", "order_place"]


class CheckoutError(Exception):
    """Base class: the order was not placed and nothing changed."""


class EmptyCart(CheckoutError):
    def __init__(self) -> None:
        super().__init__("Your cart is empty.")


class InsufficientStock(CheckoutError):
    def __init__(self, product: Product, requested: int, available: int) -> None:
        self.product = product
        self.requested = requested
        self.available = available
        if not product.is_active:
            message = f"{product.prd_nm} ({product.prd_cd}) is discontinued and can no longer be ordered."
        else:
            message = (
                f"Not enough stock for {product.prd_nm} ({product.prd_cd}): "
                f"you asked for {requested}, {available} left."
            )
        super().__init__(message)


def customer_for_user(user: AbstractBaseUser) -> Customer:
    """The user's customer profile, created on first use (staff accounts have none until they shop)."""
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        customer = Customer.objects.create(
            user=user,
            cust_nm=(user.get_full_name() or user.username)[:100],
            crt_dt=timezone.now().replace(microsecond=0),
        )
    return customer


def _money(value: Decimal | int) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def order_place(*, customer: Customer, quantities: Mapping[int, int]) -> Order:
    """Create an order for ``quantities`` ({product id: qty}); raise a ``CheckoutError`` otherwise."""
    if not quantities:
        raise EmptyCart()
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        # Lock rows in a fixed order so two checkouts never wait on each other crosswise.
        for product_id in sorted(quantities):
            qty = quantities[product_id]
            updated = Product.objects.filter(
                pk=product_id, sts_cd=Product.STATUS_ACTIVE, stk_qty__gte=qty
            ).update(stk_qty=F("stk_qty") - qty, upd_dt=now)
            if not updated:
                product = Product.objects.filter(pk=product_id).first()
                if product is None:
                    raise CheckoutError(f"Product {product_id} no longer exists; remove it from your cart.")
                raise InsufficientStock(product, qty, product.stk_qty)
        products = Product.objects.in_bulk(list(quantities))
        total = sum(products[pk].price * qty for pk, qty in quantities.items())
        order = Order.objects.create(
            ord_no=f"PENDING-{uuid.uuid4().hex[:22]}",
            cust=customer,
            ord_sts=Order.STATUS_NEW,
            tot_amt=_money(total),
            ord_dt=now,
        )
        order.ord_no = f"ORD-{now:%Y%m%d}-{order.pk:06d}"
        order.save(update_fields=["ord_no"])
        OrderLine.objects.bulk_create(
            OrderLine(ord=order, prd=products[pk], qty=qty, unit_prc=products[pk].unit_prc)
            for pk, qty in sorted(quantities.items())
        )
        for product_id in sorted(quantities):
            stock_event_record(product=products[product_id], delta=-quantities[product_id])
        order_event_record(order=order, event_type="order.placed")
    return order
