"""What every page shares with the monolith's: the context its processors add, and its error page."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Response, request
from markupsafe import Markup

from new_services.kit import pages
from new_services.kit.flash import pending_messages
from new_services.orders.domain import CURRENCY
from new_services.orders.entrypoints.auth import optional_customer
from new_services.orders.entrypoints.dependencies import orders
from new_services.orders.service_layer import SessionUnavailable

__all__ = ["SHOP_NAME", "html_error", "shop_context"]

SHOP_NAME = "LegacyShop"
log = structlog.get_logger("orders.shop")


def _csrf_input(token: str) -> Markup:
    """The logout form's hidden field: the monolith's own token, as read from its cookie."""
    return Markup(f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">')


def cart_count() -> int:
    """The header's cart count, as the monolith counts it: the units in the session cart, read through
    the session-state bridge (0 without a session or when the monolith cannot be asked: logged)."""
    service = orders()
    session_key = request.cookies.get(service.settings.legacy_session_cookie)
    if not session_key or service.session_carts is None:
        return 0
    try:
        session = service.session_carts.read(session_key)
    except SessionUnavailable as exc:
        log.warning("cart count unavailable", reason=str(exc))
        return 0
    if session is None or session.cart is None:
        return 0
    return sum(line.quantity for line in session.cart.lines)


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
        "cart_count": cart_count(),
        "user": user,
        "messages": pending_messages(orders().flash_messages, orders().settings, (SessionUnavailable,)),
        "csrf_input": _csrf_input(csrf) if csrf.isalnum() and len(csrf) in (32, 64) else "",
    }


def html_error(status: int, title: str, message: str) -> Response:
    """The monolith's error page (its ``legacyshop/error.html``)."""
    return pages.html_error(status, title, message, shop_context())
