"""The Flask application factory: ``create_app(settings)`` wires the orders' routes into the kit's app."""

from __future__ import annotations

from flask import Flask

from acl.sync.core import positions
from new_services.kit.flash import install_flash_cookies
from new_services.kit.sync_positions import install_sync_positions
from new_services.kit.tracing import install_tracing
from new_services.kit.web import answer_as_the_monolith, service_app
from new_services.orders.bootstrap import Orders, bootstrap
from new_services.orders.entrypoints import api, pages
from new_services.orders.entrypoints.errors import register_error_handlers
from new_services.orders.settings import OrdersSettings

__all__ = ["create_app"]


def create_app(settings: OrdersSettings | None = None, *, orders: Orders | None = None) -> Flask:
    """The orders app; ``orders`` replaces the bootstrapped dependencies (tests pass fakes here)."""
    settings = settings or (orders.settings if orders is not None else OrdersSettings())
    install_tracing(settings.service)  # before bootstrap builds the engines, so they are traced
    orders = orders or bootstrap(settings)
    app = service_app(__name__, settings, orders)
    install_sync_positions(app, settings, arrived=positions.arrived, collecting=positions.collecting)
    install_flash_cookies(app)
    app.jinja_env.keep_trailing_newline = True  # as Django's templates render (and include) them
    register_error_handlers(app)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(pages.blueprint)
    answer_as_the_monolith(app, ("/orders", "/orders/<ord_no>"))
    return app
