"""``gunicorn 'new_services.catalog.entrypoints.wsgi:app'`` — the app built from the environment, on first
access of ``app`` (see new_services/kit/wsgi.py)."""

from __future__ import annotations

from new_services.catalog.entrypoints.app import create_app
from new_services.kit.wsgi import lazy_app

__all__ = ["app"]  # noqa: F822 - provided by __getattr__

__getattr__ = lazy_app(__name__, create_app)
