"""What every shop page shares with the monolith's: the context its processors add, and rendering."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template

__all__ = ["CURRENCY", "SHOP_NAME", "html_error", "render_page", "shop_context"]

SHOP_NAME = "LegacyShop"
CURRENCY = "EUR"


def shop_context() -> dict[str, Any]:
    """The monolith's context processors for an anonymous visitor (no session is read here yet)."""
    return {
        "shop_name": SHOP_NAME,
        "currency": CURRENCY,
        "cart_count": 0,
        "user": {"is_authenticated": False},
        "messages": [],
    }


def render_page(template: str, status: int = 200, **context: Any) -> Response:
    """A page with the shop context; ``Vary: Cookie`` as the monolith's session middleware adds it."""
    response = make_response(render_template(template, **shop_context(), **context), status)
    response.vary.add("Cookie")
    return response


def html_error(status: int, title: str, message: str) -> Response:
    """The monolith's error page (``legacyshop/error.html``)."""
    return render_page("shop/error.html", status, title=title, message=message)
