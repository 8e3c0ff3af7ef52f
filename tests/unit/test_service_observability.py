"""The services' shared observability: JSON access lines go to the stdout of the moment they are
written (a process that swaps its stdout after building the app, as a test's capture does, still
gets them)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import structlog._output
from flask import Flask

from new_services.kit.observability import install_observability

pytestmark = pytest.mark.unit


def test_access_lines_follow_stdout_swapped_after_the_app_was_built(monkeypatch: pytest.MonkeyPatch) -> None:
    # structlog notes sys.stdout when it is imported; under pytest that may be an earlier test's
    # capture, neither the stdout the app is built under nor the one it logs under
    monkeypatch.setattr(structlog._output, "stdout", io.StringIO())
    app = Flask("probe")
    app.add_url_rule("/ping", "ping", lambda: "pong")
    install_observability(app, service="probe", log_level="info")
    swapped = io.StringIO()
    with contextlib.redirect_stdout(swapped):
        app.test_client().get("/ping", headers={"X-Request-ID": "req-7"})
    lines = [json.loads(line) for line in swapped.getvalue().splitlines() if line.startswith("{")]
    assert [(line["event"], line["request_id"], line["path"]) for line in lines] == [
        ("request", "req-7", "/ping")
    ]


def test_health_probes_are_logged_at_debug_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(structlog._output, "stdout", io.StringIO())
    app = Flask("probe")
    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    app.add_url_rule("/ping", "ping", lambda: "pong")
    install_observability(app, service="probe", log_level="info")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        app.test_client().get("/healthz")
        app.test_client().get("/ping")
    paths = [json.loads(line)["path"] for line in out.getvalue().splitlines() if line.startswith("{")]
    assert paths == ["/ping"]
