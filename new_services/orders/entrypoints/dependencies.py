"""Access to the wired dependencies from inside a request."""

from __future__ import annotations

from flask import current_app

from new_services.orders.bootstrap import Orders

__all__ = ["EXTENSION_KEY", "orders"]

EXTENSION_KEY = "orders"


def orders() -> Orders:
    return current_app.extensions[EXTENSION_KEY]
