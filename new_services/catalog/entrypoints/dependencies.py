"""Access to the wired dependencies from inside a request, and the CSRF check that reads them."""

from __future__ import annotations

from flask import current_app

from new_services.catalog.bootstrap import Catalog
from new_services.kit import csrf

__all__ = ["EXTENSION_KEY", "catalog", "csrf_protect"]

EXTENSION_KEY = "catalog"


def catalog() -> Catalog:
    return current_app.extensions[EXTENSION_KEY]


csrf_protect = csrf.csrf_protect(lambda: catalog().settings.csrf_trusted_origins)
"""Check the CSRF token before the view runs, against the catalog's trusted origins."""
