"""What every page shares with the monolith's: the context its processors add, and its error page."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from markupsafe import Markup

from new_services.kit import pages
from new_services.orders.domain import CURRENCY
from new_services.orders.entrypoints.auth import optional_customer

__all__ = ["SHOP_NAME", "html_error", "shop_context"]

SHOP_NAME = "LegacyShop"


def _csrf_input(token: str) -> Markup:
    """The logout form's hidden field: the monolith's own token, as read from its cookie."""
    return Markup(f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">')


def shop_context() -> dict[str, Any]:
    """What the monolith's context processors give every page."""
    customer = optional_customer()
    csrf = request.cookies.get("csrftoken", "")
    user: dict[str, Any] = {"is_authenticated": False}
    if customer is not None:
        user = {"is_authenticated": True, "is_staff": customer.is_staff, "username": customer.username}
    return {
        "shop_name": SHOP_NAME,
        "currency": CURRENCY,
        "cart_count": 0,
        "user": user,
        "messages": [],
        "csrf_input": _csrf_input(csrf) if csrf.isalnum() and len(csrf) in (32, 64) else "",
    }


def html_error(status: int, title: str, message: str) -> Response:
    """The monolith's error page (its ``legacyshop/error.html``)."""
    return pages.html_error(status, title, message, shop_context())
