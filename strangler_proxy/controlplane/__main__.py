"""``python -m strangler_proxy.controlplane``: one uvicorn worker on 127.0.0.1:8001 by default."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url

from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.service_layer import build_services
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.error_tracking import init_error_tracking
from strangler_proxy.json_logs import configure_json_logging, json_log_config
from strangler_proxy.secrets import keep_private
from strangler_proxy.store.engine import make_engine
from strangler_proxy.telemetry import TracingConfig, tracer_provider

HEALTH_PATHS = ("/healthz", "/readyz")


class QuietHealthChecks(logging.Filter):
    """Drops uvicorn's access lines for health probes (the supervisor asks every few seconds)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[2] if isinstance(args, tuple) and len(args) > 2 else ""
        return not (isinstance(path, str) and path.split("?", 1)[0] in HEALTH_PATHS)


def main() -> None:
    settings = ControlPlaneSettings()
    configure_json_logging()  # JSON lines, with the trace id of the admin request being served
    # The store holds password hashes, the audit log and shadow bodies: owner only (0700 home, 0600 files).
    store = make_url(settings.resolved_store_url)
    sqlite_file = (Path(store.database),) if store.get_backend_name() == "sqlite" and store.database else ()
    keep_private(settings.home, files=sqlite_file)
    logging.getLogger("uvicorn.access").addFilter(QuietHealthChecks())
    init_error_tracking("strangler-controlplane", os.environ)
    services = build_services(settings, make_engine(settings.resolved_store_url))
    app: Any = create_app(settings, services)
    if tracer_provider(TracingConfig.from_environ(os.environ), "strangler-controlplane", install=True):
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        # a server span per admin request; the API's and the UI's errors become its exception events
        app = OpenTelemetryMiddleware(app, excluded_urls="healthz,readyz")
    config = uvicorn.Config(
        app,
        host=settings.admin_host,
        port=settings.admin_port,
        workers=1,
        log_level="info",
        log_config=json_log_config(),
        server_header=False,
        proxy_headers=False,
        # Open server-sent event streams (the admin UI's live charts) must not hold a shutdown up.
        timeout_graceful_shutdown=3,
    )
    StoppingServer(config, on_stop=services.publishing.stop).run()


class StoppingServer(uvicorn.Server):
    """uvicorn's server that tells the service layer first when a stop is asked (SIGTERM, SIGINT), so a
    handover still waiting ends at once, lifts its fence and answers 503, within the graceful window."""

    def __init__(self, config: uvicorn.Config, *, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_stop = on_stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_stop()
        super().handle_exit(sig, frame)


if __name__ == "__main__":
    main()
