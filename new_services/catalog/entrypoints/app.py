"""The Flask application factory: ``create_app(settings)`` wires blueprints, logging and metrics."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response, redirect, request

from new_services.catalog.bootstrap import Catalog, bootstrap
from new_services.catalog.config import CatalogSettings
from new_services.catalog.entrypoints import api, pages
from new_services.catalog.entrypoints.converters import LegacyIntConverter
from new_services.catalog.entrypoints.dependencies import catalog as current_catalog
from new_services.catalog.entrypoints.errors import register_error_handlers
from new_services.catalog.entrypoints.html import finalize, linebreaksbr, pluralize
from new_services.kit.csrf import renew_malformed_cookie, set_csrf_cookie
from new_services.kit.health import health_blueprint
from new_services.kit.methods import ALL_METHODS
from new_services.kit.observability import install_observability

__all__ = ["EXTENSION_KEY", "SECURITY_HEADERS", "create_app"]

EXTENSION_KEY = "catalog"
# The monolith's SecurityMiddleware and XFrameOptionsMiddleware put these on every response.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def create_app(settings: CatalogSettings | None = None, *, catalog: Catalog | None = None) -> Flask:
    """The catalog app; ``catalog`` replaces the bootstrapped dependencies (tests pass fakes here)."""
    settings = settings or (catalog.settings if catalog is not None else CatalogSettings())
    catalog = catalog or bootstrap(settings)
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = catalog
    app.url_map.converters["legacy_int"] = LegacyIntConverter
    app.url_map.merge_slashes = False
    app.jinja_env.finalize = finalize
    app.jinja_env.keep_trailing_newline = True
    app.jinja_env.filters.update(linebreaksbr=linebreaksbr, pluralize=pluralize)
    install_observability(
        app, service="catalog", log_level=settings.log_level, metrics_dir=settings.metrics_dir
    )
    register_error_handlers(app)
    app.register_blueprint(health_blueprint("catalog", lambda: current_catalog().readiness()))
    app.register_blueprint(api.blueprint)
    app.register_blueprint(pages.blueprint)
    _append_slash_redirects(app)

    app.before_request(lambda: renew_malformed_cookie(request))
    app.after_request(set_csrf_cookie)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if getattr(response, "xframe_options_exempt", False):
            del response.headers["X-Frame-Options"]
        # Werkzeug's reason phrases are upper case ("404 NOT FOUND"); Django sends "404 Not Found".
        if response.status_code in _PHRASES:
            response.status = f"{response.status_code} {_PHRASES[response.status_code]}"
        return response

    return app


def _append_slash_redirects(app: Flask) -> None:
    """Django's APPEND_SLASH: ``/products`` and ``/products/3`` answer 301 to the slashed path."""

    def add_slash(**_: object) -> Response:
        query = request.query_string.decode("latin-1")
        response = redirect(f"{request.path}/" + (f"?{query}" if query else ""), 301)
        response.autocorrect_location_header = False
        response.data = b""
        response.vary.add("Cookie")
        # the monolith answers these before its X-Frame-Options middleware runs
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        return response

    for rule in ("/products", "/products/<legacy_int:product_id>"):
        app.add_url_rule(rule, f"append_slash{rule}", add_slash, methods=ALL_METHODS)
