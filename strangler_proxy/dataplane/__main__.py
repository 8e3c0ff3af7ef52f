"""``python -m strangler_proxy.dataplane``: serve the data plane with uvicorn, N workers.

uvloop + httptools, no uvicorn access log (the data plane writes its own JSON one), no proxy-header
handling (the data plane sets X-Forwarded-* itself), no Server or Date header of uvicorn's own (the
upstream's pass through unchanged).

Every worker serves two sockets: the public one (``STRANGLER_DATAPLANE_HOST``/``_PORT``) and the
internal one on loopback (``STRANGLER_DATAPLANE_INTERNAL_HOST``/``_PORT``, 127.0.0.1:8002), where the
proxy's own readiness, metrics and version endpoints are answered (``app.py``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import shutil
import signal
import socket
import sys

# The data plane never reloads code: keep uvicorn from loading its file watcher (watchfiles and anyio,
# some 2.5 MB in every worker). uvicorn treats the module as absent and never uses it.
sys.modules.setdefault("watchfiles", None)  # type: ignore[arg-type]

import uvicorn  # noqa: E402
from uvicorn.main import STARTUP_FAILURE  # noqa: E402
from uvicorn.supervisors import Multiprocess  # noqa: E402

from strangler_proxy.dataplane.agent_wire import STORE_AGENT_SOCKET_ENV  # noqa: E402
from strangler_proxy.dataplane.protocol import ProtocolLimits, StrictHttpToolsProtocol  # noqa: E402
from strangler_proxy.dataplane.settings import DataPlaneSettings  # noqa: E402
from strangler_proxy.dataplane.sidecar import ShadowSidecar  # noqa: E402
from strangler_proxy.dataplane.store_client import dialect_of  # noqa: E402
from strangler_proxy.json_logs import configure_json_logging, json_log_config  # noqa: E402
from strangler_proxy.secrets import keep_private  # noqa: E402

__all__ = ["internal_socket", "main", "serve", "uvicorn_options"]

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
        "http": functools.partial(StrictHttpToolsProtocol, limits=limits, drain_s=settings.shutdown_drain_s),
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
        # JSON lines in every worker too (uvicorn configures each worker's logging with it), with the
        # trace id of the request a line is about
        "log_config": json_log_config(),
    }


def internal_socket(settings: DataPlaneSettings) -> socket.socket:
    """The internal endpoints' listening socket, bound on loopback, inheritable by the workers."""
    host = settings.dataplane_internal_host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, settings.dataplane_internal_port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"cannot listen on {host}:{settings.dataplane_internal_port} for the internal endpoints: {exc}"
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(settings: DataPlaneSettings) -> None:
    """Run uvicorn (its workers' supervisor when there are several) on the public and internal sockets."""
    config = uvicorn.Config(APP_FACTORY, **uvicorn_options(settings))  # type: ignore[arg-type]
    sockets = [config.bind_socket(), internal_socket(settings)]
    logging.getLogger(__name__).info(
        "internal endpoints on http://%s:%d/_strangler/",
        settings.dataplane_internal_host,
        settings.dataplane_internal_port,
    )
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=sockets).run()
        else:
            server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)


def main() -> None:
    settings = DataPlaneSettings()
    configure_json_logging()
    # The access log, the metric snapshots and the shadow socket are the owner's only (umask 077).
    keep_private(settings.home)
    # Snapshots of a previous run would add to this run's counters: start from an empty folder.
    shutil.rmtree(settings.metrics_dir, ignore_errors=True)
    settings.metrics_dir.mkdir(parents=True, exist_ok=True)
    # uvicorn handles SIGTERM/SIGINT while it serves, then restores the handlers it found and raises
    # the signal again: with the default handlers the process would die there, before the sidecar
    # stops and its socket folder is removed. These handlers turn that last signal into an exit.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    with contextlib.ExitStack() as sidecars:
        if settings.store_agent and dialect_of(settings.resolved_store_url) == "postgresql":
            # One set of store connections for the host, whatever its number of workers.
            sidecars.enter_context(
                ShadowSidecar.for_data_plane(
                    argv=[sys.executable, "-m", "strangler_proxy.dataplane.store_agent"],
                    socket_env=STORE_AGENT_SOCKET_ENV,
                    name="store agent",
                    socket_name="store-agent.sock",
                )
            )
        # Mirroring and comparison run in a shadow process, off the request-serving workers.
        sidecars.enter_context(ShadowSidecar.for_data_plane())
        serve(settings)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
