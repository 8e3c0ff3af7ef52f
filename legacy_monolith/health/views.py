from django.db import connection
from django.http import JsonResponse

from legacy_monolith.legacyshop.decorators import allow_methods


@allow_methods("GET", "HEAD")
def healthz(request):
    """Alive: the process answers."""
    return JsonResponse({"status": "ok"})


@allow_methods("GET", "HEAD")
def readyz(request):
    """Ready: the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return JsonResponse(
            {"status": "unavailable", "checks": {"database": f"error: {exc.__class__.__name__}: {exc}"}},
            status=503,
        )
    return JsonResponse({"status": "ready", "checks": {"database": "ok"}})
