"""Project-wide views: error pages (JSON under /api/), the CSRF failure view and the API catch-all."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from legacy_monolith.legacyshop.api import error_response


def _is_api(request):
    return request.path.startswith("/api/") or request.path == "/api"


def csrf_failure(request, reason=""):
    if _is_api(request):
        return error_response(403, "csrf_failed", f"CSRF verification failed: {reason}")
    return render(request, "legacyshop/error.html", {"title": "Forbidden", "message": reason}, status=403)


def page_not_found(request, exception=None):
    if _is_api(request):
        return error_response(404, "not_found", f"No API endpoint at {request.path}.")
    return render(
        request, "legacyshop/error.html", {"title": "Page not found", "message": request.path}, status=404
    )


def server_error(request):
    if _is_api(request):
        return error_response(500, "server_error", "Internal server error.")
    return render(request, "legacyshop/error.html", {"title": "Server error", "message": ""}, status=500)


def bad_request(request, exception=None):
    if _is_api(request):
        return error_response(400, "bad_request", "Bad request.")
    return render(request, "legacyshop/error.html", {"title": "Bad request", "message": ""}, status=400)


def permission_denied(request, exception=None):
    if _is_api(request):
        return error_response(403, "permission_denied", "Permission denied.")
    return render(request, "legacyshop/error.html", {"title": "Forbidden", "message": ""}, status=403)


@csrf_exempt
def api_not_found(request, path=""):
    """Any /api/ path no other pattern matched: JSON 404 whatever the method."""
    return error_response(404, "not_found", f"No API endpoint at {request.path}.")
