"""JSON answers as the monolith writes them: Django's ``JsonResponse`` serialisation, and its API's
error body ``{"error": {"code", "message"[, "field", ...]}}``."""

from __future__ import annotations

import json

from flask import Response, request

__all__ = ["JSON_MIMETYPE", "error_response", "is_api", "json_response"]

JSON_MIMETYPE = "application/json"


def json_response(payload: object, status: int = 200) -> Response:
    """JSON serialised as Django's JsonResponse does it (default separators, ASCII only)."""
    return Response(json.dumps(payload), status=status, mimetype=JSON_MIMETYPE)


def error_response(status: int, code: str, message: str, **extra: object) -> Response:
    """The API's error body; ``extra`` members that are None are left out."""
    body = {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return json_response({"error": body}, status)


def is_api() -> bool:
    """Whether the current request is for the JSON API (``/api`` and below)."""
    return request.path.startswith("/api/") or request.path == "/api"
