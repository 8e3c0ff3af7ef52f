"""``gunicorn 'new_services.orders.entrypoints.wsgi:app'`` — the app built from the environment.

The app is built on first access of ``app`` (module ``__getattr__``), so importing this module has no
side effects; gunicorn reads the attribute once per worker after the fork.
"""

from __future__ import annotations

from functools import cache

from flask import Flask

from new_services.orders.entrypoints.app import create_app

__all__ = ["app"]  # noqa: F822 - provided by __getattr__


@cache
def _app() -> Flask:
    return create_app()


def __getattr__(name: str) -> Flask:
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
