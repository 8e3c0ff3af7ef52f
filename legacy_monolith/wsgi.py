"""``gunicorn legacy_monolith.wsgi:application`` from the project root."""

from legacy_monolith.legacyshop.wsgi import application

__all__ = ["application"]
