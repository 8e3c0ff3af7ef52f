"""The project's URLconf as a list of routes: pattern, name, methods, view, in resolution order.

Covers ``path`` and ``re_path`` (regex anchors dropped), nested ``include``s with their namespaces,
function views, class-based views (methods from the handlers they define), and Django REST Framework's
routers and viewsets (methods from the viewset's actions). Only Django is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

__all__ = ["iter_urls", "url_inventory"]

_HTTP = ("get", "post", "put", "patch", "delete", "head")


def _pattern_text(pattern: Any) -> str:
    return str(pattern.pattern).removeprefix("^").removesuffix("$").removesuffix(r"\Z")


def _view_name(callback: Callable[..., Any]) -> str:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or callback
    module = getattr(view, "__module__", "") or ""
    name = getattr(view, "__qualname__", None) or view.__class__.__name__
    return f"{module}.{name}" if module else name


def _methods(callback: Callable[..., Any]) -> list[str] | None:
    """The HTTP methods the view takes, when it says so; None when it takes whatever comes."""
    methods = getattr(callback, "http_methods", None)
    if methods:
        return [method.upper() for method in methods]
    actions = getattr(callback, "actions", None)  # a DRF viewset: {"get": "list", "post": "create"}
    if isinstance(actions, dict) and actions:
        return sorted(method.upper() for method in actions)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        names = getattr(view_class, "http_method_names", _HTTP)
        return sorted(name.upper() for name in names if name != "options" and hasattr(view_class, name))
    return None


def iter_urls(
    resolver: URLResolver, prefix: str = "", namespace: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every URLPattern under ``resolver`` as {pattern, name, methods, view}, in resolution order."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            child = namespace
            if entry.namespace:
                child = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from iter_urls(entry, prefix + _pattern_text(entry), child)
        elif isinstance(entry, URLPattern):
            name = entry.name
            if name and namespace:
                name = f"{namespace}:{name}"
            yield {
                "pattern": "/" + prefix + _pattern_text(entry),
                "name": name,
                "methods": _methods(entry.callback),
                "view": _view_name(entry.callback),
            }


def url_inventory(*, exclude_admin: bool = False, urlconf: str | None = None) -> list[dict[str, Any]]:
    """The routes of ``urlconf`` (default ``ROOT_URLCONF``); ``exclude_admin`` drops /admin/."""
    urls = list(iter_urls(get_resolver(urlconf)))
    if exclude_admin:
        urls = [url for url in urls if not url["pattern"].startswith("/admin/")]
    return urls
