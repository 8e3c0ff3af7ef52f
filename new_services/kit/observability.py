"""Every extracted service's observability: JSON logs (structlog) carrying the request id from
``X-Request-ID``, one access line per request, and Prometheus metrics named after the service.

Shared by the services like ``alembic_runner.py``: it knows Flask and nothing of any one service.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import structlog
from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from new_services.kit.tracing import add_trace_id

__all__ = ["REQUEST_ID_HEADER", "install_observability"]

REQUEST_ID_HEADER = "X-Request-ID"
_MAX_REQUEST_ID = 200
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


def _configure_structlog(log_level: str) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[log_level.upper()]
        ),
        # no stream given: each line goes to the sys.stdout of the moment it is written, not to the
        # one of the moment the app was built (tests capture stdout per test)
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )


def install_observability(
    app: Flask, *, service: str, log_level: str, metrics_dir: Path | None = None
) -> None:
    """Bind the request id to every log line, log one access line per request, count and time requests
    (``<service>_http_requests_total``, ``<service>_http_request_duration_seconds``) and serve ``/metrics``.

    With ``metrics_dir`` (``PROMETHEUS_MULTIPROC_DIR``, set by gunicorn.conf.py before the workers start)
    every worker writes its samples there and ``/metrics`` adds them up, whichever worker answers.
    """
    _configure_structlog(log_level)
    log = structlog.get_logger(service)
    registry = CollectorRegistry()
    requests_total = Counter(
        f"{service}_http_requests_total",
        "HTTP requests served",
        ["method", "endpoint", "status"],
        registry=registry,
    )
    duration = Histogram(
        f"{service}_http_request_duration_seconds",
        "Time to serve a request",
        ["method", "endpoint"],
        registry=registry,
    )
    exposed = registry
    if metrics_dir is not None:
        exposed = CollectorRegistry()
        multiprocess.MultiProcessCollector(exposed, path=str(metrics_dir))
    app.extensions[f"{service}_metrics_registry"] = exposed

    @app.before_request
    def _start() -> None:
        request_id = request.headers.get(REQUEST_ID_HEADER, "")[:_MAX_REQUEST_ID] or uuid.uuid4().hex
        g.request_id = request_id
        g.started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        requests_total.labels(request.method, endpoint, str(response.status_code)).inc()
        duration.labels(request.method, endpoint).observe(elapsed)
        # Health probes (every few seconds from the supervisor) only at DEBUG.
        emit = log.debug if request.path in HEALTH_PATHS else log.info
        emit(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round(elapsed * 1000, 2),
        )
        return response

    @app.teardown_request
    def _teardown(exc: BaseException | None) -> None:
        if exc is not None:
            log.error("request failed", exc_info=exc)
        structlog.contextvars.clear_contextvars()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(exposed), mimetype=CONTENT_TYPE_LATEST)
