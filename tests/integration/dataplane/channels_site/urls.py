"""HTTP side: the readiness probe and the monolith's session lookup the data plane's identity uses."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

INTERNAL_TOKEN = "test-internal-token"  # the tests' own token


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def resolve_session(request: HttpRequest) -> HttpResponse:
    """``good-session`` is user 7, as the monolith's internal endpoint would say."""
    if request.headers.get("Authorization") != f"Bearer {INTERNAL_TOKEN}":
        return JsonResponse({"error": "not_authenticated"}, status=401)
    if request.headers.get("X-Legacy-Session") != "good-session":
        return JsonResponse({"error": "not_found"}, status=404)
    return JsonResponse({"user_id": 7, "username": "demo", "is_staff": False, "customer_id": "C7"})


urlpatterns = [
    path("healthz", healthz),
    path("internal/session/resolve", resolve_session),
]
