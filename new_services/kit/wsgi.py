"""The app a service's ``entrypoints/wsgi.py`` gives gunicorn, built on first access and only then.

A service's module says ``__getattr__ = lazy_app(__name__, create_app)``: importing it has no side
effects, and gunicorn, reading ``app`` once per worker after the fork, builds the app there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from flask import Flask

__all__ = ["lazy_app"]


def lazy_app(module: str, factory: Callable[[], Flask]) -> Callable[[str], Flask]:
    """A module ``__getattr__`` whose ``app`` is ``factory()``, made once."""
    build = cache(factory)

    def __getattr__(name: str) -> Flask:
        if name == "app":
            return build()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
