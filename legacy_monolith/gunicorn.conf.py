"""gunicorn settings for LegacyShop.

Run from the project root: ``gunicorn -c legacy_monolith/gunicorn.conf.py legacy_monolith.wsgi:application``.
"""

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
