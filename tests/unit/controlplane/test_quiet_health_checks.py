"""Health probes do not fill the logs: the control plane's uvicorn and the monolith's gunicorn drop
their access lines (the supervisor asks every few seconds); other requests are still logged."""

from __future__ import annotations

import logging
import runpy

import pytest

from strangler_proxy.controlplane.__main__ import QuietHealthChecks
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit


def _record(message: str, args: object) -> logging.LogRecord:
    return logging.LogRecord("access", logging.INFO, __file__, 1, message, args, None)  # type: ignore[arg-type]


def test_the_control_planes_access_log_drops_health_probes() -> None:
    quiet = QuietHealthChecks()
    line = '%s - "%s %s HTTP/%s" %d'
    assert not quiet.filter(_record(line, ("127.0.0.1:5", "GET", "/readyz", "1.1", 200)))
    assert not quiet.filter(_record(line, ("127.0.0.1:5", "GET", "/healthz?x=1", "1.1", 200)))
    assert quiet.filter(_record(line, ("127.0.0.1:5", "GET", "/api/v1/routes", "1.1", 200)))


def test_the_monoliths_access_log_drops_health_probes() -> None:
    config = runpy.run_path(str(ROOT / "legacy_monolith" / "gunicorn.conf.py"))
    quiet = config["QuietHealthChecks"]()
    assert not quiet.filter(_record('127.0.0.1 - - [x] "GET /healthz HTTP/1.1" 200 2', None))
    assert quiet.filter(_record('127.0.0.1 - - [x] "GET /products/1/ HTTP/1.1" 200 2', None))
