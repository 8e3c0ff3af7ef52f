"""gunicorn settings for the orders service::

    gunicorn -c new_services/orders/gunicorn.conf.py 'new_services.orders.entrypoints.wsgi:app'

binds 127.0.0.1:$ORDERS_PORT (default 8202) with $ORDERS_WORKERS sync workers (default 2). The schema
is migrated once, before any worker forks, by ``python -m new_services.orders migrate`` in a child
process (unless ORDERS_MIGRATE_ON_START=false). This file imports nothing of the service, so the
master holds no application code and ``kill -HUP`` reloads workers with the new code entirely.
"""

from __future__ import annotations

import os
import subprocess
import sys

bind = f"{os.environ.get('ORDERS_HOST', '127.0.0.1')}:{int(os.environ.get('ORDERS_PORT', '8202'))}"
workers = int(os.environ.get("ORDERS_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
keepalive = 2
accesslog = None  # the app writes one JSON line per request itself
errorlog = "-"
proc_name = "strangler-orders"
# gunicorn's control socket defaults to one path per user: several servers on one machine would collide.
control_socket_disable = True


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("ORDERS_MIGRATE_ON_START", "true").lower() in ("0", "false", "no", "off"):
        return
    result = subprocess.run(
        [sys.executable, "-m", "new_services.orders", "migrate"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"orders migration failed:\n{result.stdout}\n{result.stderr}")
    server.log.info(result.stdout.strip())
