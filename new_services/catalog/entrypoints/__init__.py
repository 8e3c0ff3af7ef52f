"""HTTP entrypoints of the catalog: the Flask application factory and its blueprints."""

from new_services.catalog.entrypoints.app import create_app

__all__ = ["create_app"]
