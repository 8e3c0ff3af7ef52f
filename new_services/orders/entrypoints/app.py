"""The Flask application factory: ``create_app(settings)`` wires blueprints, logging and metrics."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response, redirect, request

from new_services.kit.health import health_blueprint
from new_services.kit.methods import ALL_METHODS
from new_services.kit.observability import install_observability
from new_services.orders.bootstrap import Orders, bootstrap
from new_services.orders.config import OrdersSettings
from new_services.orders.entrypoints import api, pages
from new_services.orders.entrypoints.dependencies import EXTENSION_KEY
from new_services.orders.entrypoints.dependencies import orders as current_orders
from new_services.orders.entrypoints.errors import register_error_handlers

__all__ = ["SECURITY_HEADERS", "create_app"]

# The monolith's SecurityMiddleware and XFrameOptionsMiddleware put these on every response.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def create_app(settings: OrdersSettings | None = None, *, orders: Orders | None = None) -> Flask:
    """The orders app; ``orders`` replaces the bootstrapped dependencies (tests pass fakes here)."""
    settings = settings or (orders.settings if orders is not None else OrdersSettings())
    orders = orders or bootstrap(settings)
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = orders
    app.url_map.merge_slashes = False
    install_observability(
        app, service="orders", log_level=settings.log_level, metrics_dir=settings.metrics_dir
    )
    register_error_handlers(app)
    app.register_blueprint(health_blueprint("orders", lambda: current_orders().readiness()))
    app.register_blueprint(api.blueprint)
    app.register_blueprint(pages.blueprint)
    _append_slash_redirects(app)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # Werkzeug's reason phrases are upper case ("404 NOT FOUND"); Django sends "404 Not Found".
        if response.status_code in _PHRASES:
            response.status = f"{response.status_code} {_PHRASES[response.status_code]}"
        return response

    return app


def _append_slash_redirects(app: Flask) -> None:
    """Django's APPEND_SLASH: ``/orders`` and ``/orders/<ord_no>`` answer 301 to the slashed path."""

    def add_slash(**_: object) -> Response:
        query = request.query_string.decode("latin-1")
        response = redirect(f"{request.path}/" + (f"?{query}" if query else ""), 301)
        response.autocorrect_location_header = False
        response.data = b""
        return response

    for rule in ("/orders", "/orders/<ord_no>"):
        app.add_url_rule(rule, f"append_slash{rule}", add_slash, methods=ALL_METHODS)
