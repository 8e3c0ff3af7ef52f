"""The Flask application factory: ``create_app(settings)`` wires blueprints, logging and metrics."""

from __future__ import annotations

from flask import Flask

from new_services.kit.health import health_blueprint
from new_services.kit.observability import install_observability
from new_services.kit.pages import shop_layout
from new_services.kit.web import add_monolith_headers, append_slash_redirects
from new_services.orders.bootstrap import Orders, bootstrap
from new_services.orders.entrypoints import api, pages
from new_services.orders.entrypoints.dependencies import EXTENSION_KEY
from new_services.orders.entrypoints.dependencies import orders as current_orders
from new_services.orders.entrypoints.errors import register_error_handlers
from new_services.orders.settings import OrdersSettings

__all__ = ["create_app"]


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
    app.register_blueprint(shop_layout())
    append_slash_redirects(app, ("/orders", "/orders/<ord_no>"))

    add_monolith_headers(app)
    return app
