"""The Jinja2 environment of the admin UI: templates next to this module, ``url()`` and ``static_url()``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import pass_context
from starlette.templating import Jinja2Templates

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "make_templates"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_ROUTE = "ui-static"


@pass_context
def _url(context: Any, route_name: str, /, **params: Any) -> str:
    """The path of the route called ``route_name`` (relative to the host, so it works behind any address)."""
    return str(context["request"].app.url_path_for(route_name, **params))


@pass_context
def _static_url(context: Any, path: str) -> str:
    return str(context["request"].app.url_path_for(STATIC_ROUTE, path=path))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.globals["url"] = _url
    templates.env.globals["static_url"] = _static_url
    return templates
