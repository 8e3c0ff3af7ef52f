"""``python -m strangler_proxy.dataplane``: serve the data plane with uvicorn, N workers.

uvloop + httptools, no uvicorn access log (the data plane writes its own JSON one), no proxy-header
handling (the data plane sets X-Forwarded-* itself), no Server or Date header of uvicorn's own (the
upstream's pass through unchanged).
"""

from __future__ import annotations

import functools
import logging
import shutil
import signal
import sys

# The data plane never reloads code: keep uvicorn from loading its file watcher (watchfiles and anyio,
# some 2.5 MB in every worker). uvicorn treats the module as absent and never uses it.
sys.modules.setdefault("watchfiles", None)  # type: ignore[arg-type]

import uvicorn  # noqa: E402

from strangler_proxy.dataplane.protocol import ProtocolLimits, StrictHttpToolsProtocol  # noqa: E402
from strangler_proxy.dataplane.settings import DataPlaneSettings  # noqa: E402
from strangler_proxy.dataplane.sidecar import ShadowSidecar  # noqa: E402

__all__ = ["main", "uvicorn_options"]

APP_FACTORY = "strangler_proxy.dataplane.app:create_app_from_environment"


def uvicorn_options(settings: DataPlaneSettings) -> dict[str, object]:
    limits = ProtocolLimits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout_s=settings.header_timeout_s,
        body_idle_timeout_s=settings.body_idle_timeout_s,
        min_body_bytes_per_s=settings.min_body_bytes_per_s,
    )
    return {
        "factory": True,
        "host": settings.dataplane_host,
        "port": settings.dataplane_port,
        "workers": settings.dataplane_workers,
        "loop": "uvloop",
        "http": functools.partial(StrictHttpToolsProtocol, limits=limits),
        "ws": "none",
        "lifespan": "on",
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "date_header": False,
        "timeout_graceful_shutdown": 30,
        "backlog": 4096,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "limit_concurrency": settings.limit_concurrency,
        "log_level": "info",
    }


def main() -> None:
    settings = DataPlaneSettings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Snapshots of a previous run would add to this run's counters: start from an empty folder.
    shutil.rmtree(settings.metrics_dir, ignore_errors=True)
    settings.metrics_dir.mkdir(parents=True, exist_ok=True)
    # uvicorn handles SIGTERM/SIGINT while it serves, then restores the handlers it found and raises
    # the signal again: with the default handlers the process would die there, before the sidecar
    # stops and its socket folder is removed. These handlers turn that last signal into an exit.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    # Mirroring and comparison run in a shadow process, off the request-serving workers.
    with ShadowSidecar.for_data_plane():
        uvicorn.run(APP_FACTORY, **uvicorn_options(settings))  # type: ignore[arg-type]


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
