"""Exception tracking through Sentry's SDK (the optional extra), against a real HTTP receiver of
Sentry envelopes: an unhandled error in a service is reported with its trace id and route, never with
the request's header values or cookies."""

from __future__ import annotations

import subprocess
import sys

import pytest

from strangler_proxy.error_tracking import init_error_tracking, scrub_event

pytestmark = pytest.mark.integration

SCRIPT = """
import os, sentry_sdk
from flask import Flask
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from strangler_proxy.error_tracking import init_error_tracking

from opentelemetry.instrumentation.flask import FlaskInstrumentor

trace.set_tracer_provider(TracerProvider())
assert init_error_tracking("orders", os.environ)
app = Flask("boom")
FlaskInstrumentor().instrument_app(app)  # as a traced service does (new_services.kit.tracing)

@app.get("/api/orders/<int:number>")
def boom(number):
    print(format(trace.get_current_span().get_span_context().trace_id, "032x"), flush=True)
    raise RuntimeError("the saga failed")

app.test_client().get(
    "/api/orders/7", headers={"Cookie": "sessionid=cookie-secret", "X-Api-Key": "header-secret"}
)
sentry_sdk.flush(5)
"""


def test_an_unhandled_error_is_reported_with_trace_id_and_route_without_header_values(envelopes) -> None:
    port, received = envelopes
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={"SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    trace_id = result.stdout.split()[0]
    body = b"".join(received).decode("utf-8", "replace")
    assert "the saga failed" in body and "RuntimeError" in body
    assert f'"trace_id":"{trace_id}"' in body.replace(" ", "")
    assert "/api/orders/<int:number>" in body or "boom" in body  # the route (Flask's transaction name)
    assert "header-secret" not in body and "cookie-secret" not in body


def test_off_without_a_dsn_and_the_scrubber_drops_headers() -> None:
    assert init_error_tracking("orders", {}) is False
    event = {"request": {"headers": {"X-Api-Key": "k"}, "cookies": {"a": "b"}, "url": "http://x/y"}}
    assert scrub_event(event) == {"request": {"url": "http://x/y"}}
