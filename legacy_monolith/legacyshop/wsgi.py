"""WSGI entry point of the project package (``legacy_monolith.wsgi`` re-exports it for gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legacy_monolith.legacyshop.settings")

application = get_wsgi_application()
