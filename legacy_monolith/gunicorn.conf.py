"""gunicorn settings for LegacyShop.

Run from the project root: ``gunicorn -c legacy_monolith/gunicorn.conf.py legacy_monolith.wsgi:application``.
"""

import logging
import os

bind = f"127.0.0.1:{int(os.environ.get('LEGACYSHOP_PORT', '8100'))}"
workers = int(os.environ.get("LEGACYSHOP_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LEGACYSHOP_LOG_LEVEL", "info")
wsgi_app = "legacy_monolith.wsgi:application"

HEALTH_PATHS = ("/healthz", "/readyz")


class QuietHealthChecks(logging.Filter):
    """Drops access lines of health probes: the supervisor asks every few seconds."""

    def filter(self, record):
        return not any(f" {path} " in record.getMessage() for path in HEALTH_PATHS)


def on_starting(server):
    """The workers fork from the master, so the filter and formatter set here hold for every one of
    them: gunicorn's lines are JSON with the request's trace id, like the monolith's own."""
    from strangler_django.logging import use_json_lines

    server.log.access_log.addFilter(QuietHealthChecks())
    use_json_lines(server.log)
