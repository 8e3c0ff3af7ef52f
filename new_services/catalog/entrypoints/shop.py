"""What every shop page shares with the monolith's: the context its processors add, and rendering."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Response, request
from markupsafe import Markup

from acl.errors import ACLError
from new_services.catalog.entrypoints.auth import current_identity
from new_services.catalog.entrypoints.dependencies import catalog
from new_services.kit import pages
from new_services.kit.flash import pending_messages

__all__ = ["CURRENCY", "SHOP_NAME", "html_error", "render_page", "shop_context"]

SHOP_NAME = "LegacyShop"
CURRENCY = "EUR"
log = structlog.get_logger("catalog.shop")


def _cart_count() -> int:
    """The units in the monolith's session cart (0 without a session, or when it cannot be asked: logged)."""
    count = catalog().cart_count
    session_key = request.cookies.get(catalog().settings.legacy_session_cookie)
    if count is None or not session_key:
        return 0
    try:
        return count(session_key)
    except (ACLError, LookupError) as exc:
        log.warning("cart count unavailable", reason=str(exc))
        return 0


def shop_context() -> dict[str, Any]:
    """The monolith's context processors: the signed-in customer (from the signed identity), the
    session cart's count, and the logout form's CSRF field (the monolith's own token, from its cookie)."""
    identity = current_identity()
    user: dict[str, Any] = {"is_authenticated": False}
    if identity is not None:
        user = {"is_authenticated": True, "is_staff": identity.is_staff, "username": identity.username}
    csrf = request.cookies.get("csrftoken", "")
    csrf_ok = csrf.isalnum() and len(csrf) in (32, 64)
    return {
        "shop_name": SHOP_NAME,
        "currency": CURRENCY,
        "cart_count": _cart_count(),
        "user": user,
        "messages": pending_messages(catalog().flash_messages, catalog().settings, (ACLError, LookupError)),
        "csrf_input": Markup(f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">')
        if csrf_ok
        else "",
    }


def render_page(template: str, status: int = 200, **context: Any) -> Response:
    """A page with the shop context; ``Vary: Cookie`` as the monolith's session middleware adds it."""
    return pages.render_page(template, {**shop_context(), **context}, status)


def html_error(status: int, title: str, message: str) -> Response:
    """The monolith's error page (``legacyshop/error.html``)."""
    return pages.html_error(status, title, message, shop_context())
