"""``/healthz`` (alive) and ``/readyz`` (the service's dependencies reachable, its database migrated)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from flask import Blueprint, Response

from new_services.kit.responses import json_response

__all__ = ["health_blueprint"]


def health_blueprint(service: str, readiness: Callable[[], dict[str, str]]) -> Blueprint:
    """The two endpoints; ``readiness`` returns the checks passed (``{"database": "ok"}``) or raises
    with the reason (then 503, reported as the database's)."""
    blueprint = Blueprint("health", __name__)
    log = structlog.get_logger(f"{service}.health")

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok"})

    @blueprint.get("/readyz")
    def readyz() -> Response:
        try:
            checks = readiness()
        except Exception as exc:
            log.warning("not ready", reason=str(exc))
            return json_response({"status": "unavailable", "checks": {"database": f"error: {exc}"}}, 503)
        return json_response({"status": "ready", "checks": checks})

    return blueprint
