"""Plumbing shared by the JSON API views: error bodies, method checks, JSON bodies, basic auth, times.

Every API error has the same body::

    {"error": {"code": "invalid_parameter", "message": "...", "field": "page_size"}}

``field`` (and any other extra keys) only appear when they mean something.
"""

import base64
import binascii
import functools
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

__all__ = [
    "ApiError",
    "api_view",
    "error_response",
    "local_isoformat",
    "parse_json_object",
    "require_api_user",
]


class ApiError(Exception):
    """Raised inside an API view; ``api_view`` turns it into the standard error body."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_response(status, code, message, **extra):
    body = {"code": code, "message": message}
    body.update({key: value for key, value in extra.items() if value is not None})
    return JsonResponse({"error": body}, status=status)


def api_view(methods, basic_auth=False):
    """Wrap an API view: JSON 405 for other methods, ``ApiError`` to JSON, optional HTTP basic auth.

    With ``basic_auth=True`` a request carrying ``Authorization: Basic`` is authenticated from it and
    skips the CSRF check (scripts have no cookie to forge); a session request is CSRF-checked as usual.
    HEAD is allowed wherever GET is.
    """
    allowed = [method.upper() for method in methods]
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in allowed:
                response = error_response(
                    405,
                    "method_not_allowed",
                    f"Method {request.method} is not allowed here; use {', '.join(allowed)}.",
                )
                response["Allow"] = ", ".join(allowed)
                return response
            try:
                if basic_auth:
                    _authenticate_or_check_csrf(request)
                return view(request, *args, **kwargs)
            except ApiError as exc:
                response = error_response(exc.status, exc.code, exc.message, **exc.extra)
                if basic_auth and exc.status == 401:
                    response["WWW-Authenticate"] = 'Basic realm="LegacyShop API", charset="UTF-8"'
                return response

        wrapper.http_methods = allowed
        return csrf_exempt(wrapper) if basic_auth else wrapper

    return decorator


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _authenticate_or_check_csrf(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            username, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "not_authenticated", "Malformed basic authorization header.") from None
        user = authenticate(request, username=username, password=password)
        if user is None or not user.is_active:
            raise ApiError(401, "not_authenticated", "Invalid username or password.")
        request.user = user
        request.basic_auth = True
        return
    # Like a session login in DRF: CSRF matters only when a session actually authenticates the request.
    if request.user.is_authenticated and request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
        check = _CsrfCheck(lambda req: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise ApiError(403, "csrf_failed", f"CSRF verification failed: {reason}")


def require_api_user(request, staff=False):
    """The logged-in user, or ``ApiError`` 401 (nobody) / 403 (not staff when staff is required)."""
    user = request.user
    if not user.is_authenticated:
        raise ApiError(401, "not_authenticated", "Authentication required: log in or use HTTP basic auth.")
    # A service token (strangler_django) reaches only the calls its scope allows: those are staff calls.
    if staff and not (user.is_staff or getattr(request, "strangler_service", None)):
        raise ApiError(403, "permission_denied", "Only staff members may do this.")
    return user


def parse_json_object(request):
    """The request body as a JSON object, or ``ApiError`` 400."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_body", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    return data


def local_isoformat(value: datetime) -> str:
    """A naive local timestamp rendered ISO 8601 with the shop's UTC offset, seconds precision."""
    zone = ZoneInfo(settings.TIME_ZONE)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(zone).isoformat(timespec="seconds")
