"""``/healthz`` (the process answers) and ``/readyz`` (every configured database answers)."""

from __future__ import annotations

from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

__all__ = ["healthz", "readyz"]


@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers."""
    return JsonResponse({"status": "ok"})


healthz.http_methods = ["GET", "HEAD"]


@require_http_methods(["GET", "HEAD"])
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: each database answers a trivial query (503 naming the error otherwise)."""
    checks: dict[str, str] = {}
    for alias in connections:
        name = "database" if alias == "default" else f"database:{alias}"
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception as exc:  # reported in the answer, which is the point of the check
            checks[name] = f"error: {exc.__class__.__name__}: {exc}"
        else:
            checks[name] = "ok"
    if any(value != "ok" for value in checks.values()):
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


readyz.http_methods = ["GET", "HEAD"]
