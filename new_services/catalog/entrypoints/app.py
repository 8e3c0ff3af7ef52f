"""The Flask application factory: ``create_app(settings)`` wires blueprints, logging and metrics."""

from __future__ import annotations

from flask import Flask

from new_services.catalog.bootstrap import Catalog, bootstrap
from new_services.catalog.config import CatalogSettings
from new_services.catalog.entrypoints import api, health, pages
from new_services.catalog.entrypoints.errors import register_error_handlers
from new_services.catalog.entrypoints.observability import install_observability

__all__ = ["EXTENSION_KEY", "create_app"]

EXTENSION_KEY = "catalog"


def create_app(settings: CatalogSettings | None = None, *, catalog: Catalog | None = None) -> Flask:
    """The catalog app; ``catalog`` replaces the bootstrapped dependencies (tests pass fakes here)."""
    settings = settings or (catalog.settings if catalog is not None else CatalogSettings())
    catalog = catalog or bootstrap(settings)
    app = Flask(__name__)
    app.url_map.strict_slashes = True
    app.json.ensure_ascii = True  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = catalog
    install_observability(app, log_level=settings.log_level)
    register_error_handlers(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(pages.blueprint)
    return app
