"""Root URLconf: shop pages, accounts, the JSON API under /api/, strangler_django's health and
/internal/ endpoints, admin and static files."""

from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path

from legacy_monolith.legacyshop import views

urlpatterns = [
    path("", include("legacy_monolith.catalog.urls")),
    path("", include("legacy_monolith.orders.urls")),
    path("accounts/", include("legacy_monolith.customers.urls")),
    path("api/", include("legacy_monolith.catalog.api_urls")),
    path("api/", include("legacy_monolith.orders.api_urls")),
    re_path(r"^api(?:/(?P<path>.*))?$", views.api_not_found, name="api_not_found"),
    path("", include("strangler_django.urls")),
    path("admin/", admin.site.urls),
    # No WhiteNoise here: the few CSS files (ours and the admin's) come from the app folders directly.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}, name="static"),
]

handler400 = "legacy_monolith.legacyshop.views.bad_request"
handler403 = "legacy_monolith.legacyshop.views.permission_denied"
handler404 = "legacy_monolith.legacyshop.views.page_not_found"
handler500 = "legacy_monolith.legacyshop.views.server_error"
