"""Method restrictions as the monolith declares them: its pages' (Django's ``require_http_methods``,
an empty 405) and its JSON API's (a JSON 405)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from flask import Response, request

from new_services.kit.responses import error_response

__all__ = ["ALL_METHODS", "allow_methods", "api_methods"]

# Routes take every method and answer the wrong ones themselves, as the monolith does.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]

P = ParamSpec("P")


def allow_methods(*methods: str) -> Callable[[Callable[P, Response]], Callable[P, Response]]:
    """Any other method gets an empty ``405`` (text/html) with an ``Allow`` header."""

    def decorator(view: Callable[P, Response]) -> Callable[P, Response]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
            if request.method not in methods:
                response = Response(b"", status=405, content_type="text/html; charset=utf-8")
                response.headers["Allow"] = ", ".join(methods)
                return response
            return view(*args, **kwargs)

        return wrapper

    return decorator


def api_methods(*methods: str) -> Callable[[Callable[P, Response]], Callable[P, Response]]:
    """Answer ``methods`` only (HEAD wherever GET); any other gets the monolith's JSON 405 with an
    ``Allow`` header."""
    allowed = list(methods)
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")

    def decorator(view: Callable[P, Response]) -> Callable[P, Response]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
            if request.method not in allowed:
                response = error_response(
                    405,
                    "method_not_allowed",
                    f"Method {request.method} is not allowed here; use {', '.join(allowed)}.",
                )
                response.headers["Allow"] = ", ".join(allowed)
                return response
            return view(*args, **kwargs)

        return wrapper

    return decorator
