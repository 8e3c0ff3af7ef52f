"""Pages as the monolith renders them: the shop's layout (``templates/shop/``: ``base.html``,
``error.html``, ``pagination.html``), which every service's own templates extend, and rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, make_response, render_template

__all__ = ["html_error", "render_page", "shop_layout"]


def shop_layout() -> Blueprint:
    """A blueprint that serves nothing and lends the app the shop's layout templates (searched after
    the service's own)."""
    return Blueprint("shop_layout", __name__, template_folder="templates")


def render_page(template: str, context: Mapping[str, Any], status: int = 200) -> Response:
    """``template`` with ``context``; ``Vary: Cookie`` as the monolith's session middleware adds it."""
    response = make_response(render_template(template, **context), status)
    response.vary.add("Cookie")
    return response


def html_error(status: int, title: str, message: str, context: Mapping[str, Any]) -> Response:
    """The monolith's error page (its ``legacyshop/error.html``)."""
    return render_page("shop/error.html", {**context, "title": title, "message": message}, status)
