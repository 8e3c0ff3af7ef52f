"""gunicorn settings for the orders service::

    gunicorn -c new_services/orders/gunicorn.conf.py 'new_services.orders.entrypoints.wsgi:app'

binds 127.0.0.1:$ORDERS_PORT (default 8202) with $ORDERS_WORKERS sync workers (default 2). The schema
is migrated once, before any worker forks, by ``python -m new_services.orders migrate`` in a child
process (unless ORDERS_MIGRATE_ON_START=false). Workers share Prometheus samples through
$PROMETHEUS_MULTIPROC_DIR (default $STRANGLER_HOME/services/orders/metrics). This file imports
nothing of the service, so the master holds no application code and ``kill -HUP`` reloads workers
with the new code entirely.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

bind = f"{os.environ.get('ORDERS_HOST', '127.0.0.1')}:{int(os.environ.get('ORDERS_PORT', '8202'))}"
workers = int(os.environ.get("ORDERS_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
keepalive = 2
accesslog = None  # the app writes one JSON line per request itself
errorlog = "-"
proc_name = "strangler-orders"
# Prometheus samples of all workers meet in one folder, emptied at every start (see on_starting).
METRICS_DIR = Path(
    os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    or Path(os.environ.get("STRANGLER_HOME", ".strangler")) / "services" / "orders" / "metrics"
).resolve()
METRICS_DIR.mkdir(parents=True, exist_ok=True)  # here too: a HUP reload re-reads this file, not on_starting
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)
# gunicorn's control socket defaults to one path per user: several servers on one machine would collide.
control_socket_disable = True


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()
    if os.environ.get("ORDERS_MIGRATE_ON_START", "true").lower() in ("0", "false", "no", "off"):
        return
    result = subprocess.run(
        [sys.executable, "-m", "new_services.orders", "migrate"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"orders migration failed:\n{result.stdout}\n{result.stderr}")
    server.log.info(result.stdout.strip())
