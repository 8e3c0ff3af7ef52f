"""JSON plumbing of the app's endpoints: one error body, method checks, the bearer token, JSON bodies.

Every error has the body ``{"error": {"code": "...", "message": "...", "field": "..."}}`` (``field`` only
when it means something).
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

__all__ = ["EndpointError", "error_response", "internal_endpoint", "internal_token", "json_object"]

View = Callable[..., HttpResponse]


class EndpointError(Exception):
    """Raised inside an endpoint; ``internal_endpoint`` turns it into the standard error body."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JsonResponse({"error": body}, status=status)


def internal_token() -> str:
    """The shared secret of /internal/: ``STRANGLER_INTERNAL_TOKEN`` (empty: the endpoints answer 503)."""
    return str(getattr(settings, "STRANGLER_INTERNAL_TOKEN", "") or "")


def _has_token(request: HttpRequest, expected: str) -> bool:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def internal_endpoint(methods: list[str]) -> Callable[[View], View]:
    """CSRF-exempt JSON endpoint behind ``Authorization: Bearer <STRANGLER_INTERNAL_TOKEN>``.

    405 (with ``Allow``) for other methods, HEAD wherever GET, 401 with ``WWW-Authenticate: Bearer``
    without the token, 503 when no token is configured, ``EndpointError`` to its JSON body.
    """
    allowed = [method.upper() for method in methods]
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = error_response(
                    405,
                    "method_not_allowed",
                    f"Method {request.method} is not allowed here; use {', '.join(allowed)}.",
                )
                response["Allow"] = ", ".join(allowed)
                return response
            expected = internal_token()
            if not expected:
                return error_response(
                    503, "not_configured", "STRANGLER_INTERNAL_TOKEN is not set in the Django settings."
                )
            if not _has_token(request, expected):
                response = error_response(
                    401, "not_authenticated", "A valid internal bearer token is required."
                )
                response["WWW-Authenticate"] = 'Bearer realm="strangler internal"'
                return response
            try:
                return view(request, *args, **kwargs)
            except EndpointError as exc:
                return error_response(exc.status, exc.code, exc.message, exc.field)

        endpoint.http_methods = allowed  # type: ignore[attr-defined]
        return csrf_exempt(endpoint)

    return decorator


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object, or ``EndpointError`` 400."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise EndpointError(400, "invalid_body", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise EndpointError(400, "invalid_body", "The request body must be a JSON object.")
    return data
