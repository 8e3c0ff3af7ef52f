"""``/healthz`` (alive) and ``/readyz`` (the database is reachable and migrated)."""

from __future__ import annotations

import structlog
from flask import Blueprint, Response

from new_services.orders.entrypoints.dependencies import orders
from new_services.orders.entrypoints.errors import json_response

__all__ = ["blueprint"]

blueprint = Blueprint("health", __name__)
log = structlog.get_logger("orders.health")


@blueprint.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> Response:
    try:
        checks = orders().readiness()
    except Exception as exc:
        log.warning("not ready", reason=str(exc))
        return json_response({"status": "unavailable", "checks": {"database": f"error: {exc}"}}, 503)
    return json_response({"status": "ready", "checks": checks})
