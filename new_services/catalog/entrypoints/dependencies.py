"""Access to the wired dependencies from inside a request."""

from __future__ import annotations

from flask import current_app

from new_services.catalog.bootstrap import Catalog

__all__ = ["catalog"]


def catalog() -> Catalog:
    return current_app.extensions["catalog"]
