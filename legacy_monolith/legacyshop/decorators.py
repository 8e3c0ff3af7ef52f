"""``allow_methods``: Django's require_http_methods that also tells urls_json which methods a view takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.views.decorators.http import require_http_methods

__all__ = ["allow_methods"]


def allow_methods(*methods: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """405 for any other method; the list is kept on the view as ``http_methods``."""
    allowed = [method.upper() for method in methods]

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = require_http_methods(allowed)(view)
        wrapped.http_methods = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorator
