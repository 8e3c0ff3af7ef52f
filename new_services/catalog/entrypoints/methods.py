"""Method restrictions as the monolith's pages declare them (Django's ``require_http_methods``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from flask import Response, request

__all__ = ["ALL_METHODS", "allow_methods"]

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
