"""The Flask application factory: ``create_app(settings)`` wires the catalog's routes into the kit's app."""

from __future__ import annotations

from flask import Flask, request

from acl.sync.core import positions
from new_services.catalog.bootstrap import Catalog, bootstrap
from new_services.catalog.entrypoints import api, pages
from new_services.catalog.entrypoints.converters import LegacyIntConverter
from new_services.catalog.entrypoints.errors import register_error_handlers
from new_services.catalog.entrypoints.html import finalize, linebreaksbr, pluralize
from new_services.catalog.settings import CatalogSettings
from new_services.kit.csrf import renew_malformed_cookie, set_csrf_cookie
from new_services.kit.flash import install_flash_cookies
from new_services.kit.sync_positions import install_sync_positions
from new_services.kit.tracing import install_tracing
from new_services.kit.web import answer_as_the_monolith, service_app

__all__ = ["create_app"]


def create_app(settings: CatalogSettings | None = None, *, catalog: Catalog | None = None) -> Flask:
    """The catalog app; ``catalog`` replaces the bootstrapped dependencies (tests pass fakes here)."""
    settings = settings or (catalog.settings if catalog is not None else CatalogSettings())
    install_tracing(settings.service)  # before bootstrap builds the engines, so they are traced
    catalog = catalog or bootstrap(settings)
    app = service_app(__name__, settings, catalog)
    install_sync_positions(app, settings, arrived=positions.arrived, collecting=positions.collecting)
    install_flash_cookies(app)
    app.url_map.converters["legacy_int"] = LegacyIntConverter
    app.jinja_env.finalize = finalize
    app.jinja_env.keep_trailing_newline = True
    app.jinja_env.filters.update(linebreaksbr=linebreaksbr, pluralize=pluralize)
    register_error_handlers(app)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(pages.blueprint)
    app.before_request(lambda: renew_malformed_cookie(request))
    app.after_request(set_csrf_cookie)
    answer_as_the_monolith(app, ("/products", "/products/<legacy_int:product_id>"))
    return app
