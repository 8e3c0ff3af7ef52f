"""Exception tracking of a monolith through the toolkit's Django app: with SENTRY_DSN set (and the
OTEL_* variables tracing it), an unhandled error of a request is reported to a real HTTP receiver of
Sentry envelopes with the trace id and the route, never with the request's header values or cookies;
the monolith has no code of its own for it (only ``strangler_django`` in INSTALLED_APPS)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from strangler_django.error_tracking import init_error_tracking, scrub_event
from tests.support.otlp import OtlpReceiver
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration

MONOLITH = """
import django
from django.conf import settings
from django.urls import path


def boom(request, number):
    raise RuntimeError("the stock write failed")


urlpatterns = [path("api/products/<int:number>/stock", boom)]
settings.configure(
    SECRET_KEY="s" * 50,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "strangler_django"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    MIDDLEWARE=[],
)
django.setup()  # the app starts tracing and Sentry's SDK from the environment

import sentry_sdk
from django.test import Client
from opentelemetry import trace

answer = Client(raise_request_exception=False).get(
    "/api/products/7/stock", HTTP_COOKIE="sessionid=cookie-secret", HTTP_X_API_KEY="header-secret"
)
assert answer.status_code == 500, answer.status_code
sentry_sdk.flush(5)
trace.get_tracer_provider().shutdown()
"""


def test_an_unhandled_error_of_the_monolith_is_reported_with_trace_id_and_route(envelopes) -> None:
    port, received = envelopes
    with OtlpReceiver() as receiver:
        result = subprocess.run(
            [sys.executable, "-c", MONOLITH],
            cwd=ROOT,
            env={
                "SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/1",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_SERVICE_NAME": "legacyshop",
                "PATH": "/usr/bin:/bin",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        (request,) = [s for s in receiver.snapshot() if s.service == "legacyshop" and s.kind == 2]
    body = b"".join(received).decode("utf-8", "replace")
    assert "the stock write failed" in body and "RuntimeError" in body
    assert f'"trace_id":"{request.trace_id}"' in body.replace(" ", "")
    assert '"transaction":"/api/products/{number}/stock"' in body  # the route, as Sentry names it
    assert "header-secret" not in body and "cookie-secret" not in body


def test_off_without_a_dsn_and_the_scrubber_drops_headers() -> None:
    assert init_error_tracking({}) is False
    event = {"request": {"headers": {"X-Api-Key": "k"}, "cookies": {"a": "b"}, "url": "http://x/y"}}
    assert scrub_event(event) == {"request": {"url": "http://x/y"}}
