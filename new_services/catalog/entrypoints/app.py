"""The Flask application factory: ``create_app(settings)`` wires blueprints, logging and metrics."""

from __future__ import annotations

from flask import Flask, request

from new_services.catalog.bootstrap import Catalog, bootstrap
from new_services.catalog.entrypoints import api, pages
from new_services.catalog.entrypoints.converters import LegacyIntConverter
from new_services.catalog.entrypoints.dependencies import EXTENSION_KEY
from new_services.catalog.entrypoints.dependencies import catalog as current_catalog
from new_services.catalog.entrypoints.errors import register_error_handlers
from new_services.catalog.entrypoints.html import finalize, linebreaksbr, pluralize
from new_services.catalog.settings import CatalogSettings
from new_services.kit.csrf import renew_malformed_cookie, set_csrf_cookie
from new_services.kit.health import health_blueprint
from new_services.kit.observability import install_observability
from new_services.kit.pages import shop_layout
from new_services.kit.web import add_monolith_headers, append_slash_redirects

__all__ = ["create_app"]


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
    app.register_blueprint(shop_layout())
    append_slash_redirects(app, ("/products", "/products/<legacy_int:product_id>"))

    app.before_request(lambda: renew_malformed_cookie(request))
    app.after_request(set_csrf_cookie)

    add_monolith_headers(app)
    return app
