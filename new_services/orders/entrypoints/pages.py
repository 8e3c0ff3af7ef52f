"""HTML pages ``/orders/`` and ``/orders/<ord_no>/`` for the logged-in customer, as the monolith renders them.

Anonymous visitors (no valid identity) are sent to the monolith's login page, as Django's
``login_required`` does. The header's cart count is the monolith's session cart's, read through the
session-state bridge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

from flask import Blueprint, Response, redirect, request

from new_services.kit.methods import ALL_METHODS, allow_methods
from new_services.kit.pages import render_page
from new_services.orders.domain import SHOP_TIMEZONE, Order
from new_services.orders.entrypoints.auth import optional_customer
from new_services.orders.entrypoints.dependencies import orders
from new_services.orders.entrypoints.shop import shop_context
from new_services.orders.service_layer import PageOutOfRange, get_order, list_orders

__all__ = ["ORDERS_PER_PAGE", "blueprint"]

blueprint = Blueprint("pages", __name__, template_folder="templates")
ORDERS_PER_PAGE = 20
LOGIN_URL = "/accounts/login/"
STATUS_DISPLAY = {"new": "New", "paid": "Paid", "shipped": "Shipped", "cancelled": "Cancelled"}


@dataclass(frozen=True)
class PageView:
    number: int
    num_pages: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


def _display(order: Order) -> dict[str, Any]:
    return {
        "order_no": order.order_no,
        "ordered": order.ordered_at.astimezone(SHOP_TIMEZONE).strftime("%Y-%m-%d %H:%M"),
        "status": STATUS_DISPLAY.get(order.status.value, order.status.value),
        "total": str(order.total),
        "lines": order.lines,
    }


def _render(template: str, **context: Any) -> Response:
    return render_page(template, {**shop_context(), **context})


def _login_redirect() -> Response:
    # Flask's redirect() makes the app's response class; werkzeug's annotation says its base class
    response = cast(
        Response, redirect(f"{LOGIN_URL}?next={quote(request.full_path.rstrip('?'), safe='/')}", 302)
    )
    response.autocorrect_location_header = False
    return response


def _page_number(raw: str | None, num_pages: int) -> int:
    """Django's ``Paginator.get_page``: not a number -> 1, past the end -> the last page."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        return 1
    return min(int(raw), num_pages)


@blueprint.route("/orders/", methods=ALL_METHODS, provide_automatic_options=False)
@allow_methods("GET", "HEAD")
def order_list() -> Response:
    customer = optional_customer()
    if customer is None:
        return _login_redirect()
    service = orders()
    first = list_orders(service.uow_factory, customer.user_id, page=1, page_size=ORDERS_PER_PAGE)
    number = _page_number(request.args.get("page"), first.num_pages)
    try:
        page = (
            first
            if number == 1
            else list_orders(service.uow_factory, customer.user_id, page=number, page_size=ORDERS_PER_PAGE)
        )
    except PageOutOfRange:  # an order vanished meanwhile
        page = first
    return _render(
        "orders/order_list.html",
        orders=[_display(order) for order in page.orders],
        page=PageView(page.page, page.num_pages),
        query="",
    )


@blueprint.route("/orders/<ord_no>/", methods=ALL_METHODS, provide_automatic_options=False)
@allow_methods("GET", "HEAD")
def order_detail(ord_no: str) -> Response:
    customer = optional_customer()
    if customer is None:
        return _login_redirect()
    order = get_order(orders().uow_factory, customer.user_id, ord_no)
    return _render("orders/order_detail.html", order=_display(order))
