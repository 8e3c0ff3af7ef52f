"""gunicorn's settings for a service, as a service's ``gunicorn.conf.py`` takes them::

    globals().update(server_settings("catalog", default_port=8201))

binds ``127.0.0.1:$<SERVICE>_PORT`` with ``$<SERVICE>_WORKERS`` sync workers (default 2). The schema is
migrated once, before any worker forks, by ``python -m new_services.<service> migrate`` in a child
process (unless ``<SERVICE>_MIGRATE_ON_START=false``). Workers share Prometheus samples through
``$PROMETHEUS_MULTIPROC_DIR`` (default ``$STRANGLER_HOME/services/<service>/metrics``). This module
imports nothing of any service (nor Flask), so gunicorn's master holds no application code and
``kill -HUP`` reloads workers with the new code entirely.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["server_settings"]

_OFF = ("0", "false", "no", "off")


def server_settings(service: str, *, default_port: int) -> dict[str, Any]:
    """The settings gunicorn reads from a config file's globals, for ``new_services.<service>``."""
    prefix = service.upper()
    # Prometheus samples of all workers meet in one folder, emptied at every start (see on_starting).
    metrics_dir = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        or Path(os.environ.get("STRANGLER_HOME", ".strangler")) / "services" / service / "metrics"
    ).resolve()
    metrics_dir.mkdir(parents=True, exist_ok=True)  # here too: a HUP reload re-reads the config file
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

    def on_starting(server: Any) -> None:
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        if os.environ.get(f"{prefix}_MIGRATE_ON_START", "true").lower() in _OFF:
            return
        result = subprocess.run(
            [sys.executable, "-m", f"new_services.{service}", "migrate"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{service} migration failed:\n{result.stdout}\n{result.stderr}")
        server.log.info(result.stdout.strip())

    host = os.environ.get(f"{prefix}_HOST", "127.0.0.1")
    return {
        "bind": f"{host}:{int(os.environ.get(f'{prefix}_PORT', str(default_port)))}",
        "workers": int(os.environ.get(f"{prefix}_WORKERS", "2")),
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 2,
        "accesslog": None,  # the app writes one JSON line per request itself
        "errorlog": "-",
        "proc_name": f"strangler-{service}",
        # gunicorn's control socket defaults to one path per user: several servers would collide.
        "control_socket_disable": True,
        "on_starting": on_starting,
    }
