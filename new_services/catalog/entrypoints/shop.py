"""What every shop page shares with the monolith's: the context its processors add, and rendering."""

from __future__ import annotations

from typing import Any

from flask import Response

from new_services.kit import pages

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
    return pages.render_page(template, {**shop_context(), **context}, status)


def html_error(status: int, title: str, message: str) -> Response:
    """The monolith's error page (``legacyshop/error.html``)."""
    return pages.html_error(status, title, message, shop_context())
