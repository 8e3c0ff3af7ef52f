"""Health endpoints: liveness always, readiness reflects the database."""

from __future__ import annotations

import pytest
from django.db import OperationalError

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_is_503_with_the_error_when_the_database_fails(client, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("strangler_django.health.connections", {"default": BrokenConnection()})
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "connection refused" in body["checks"]["database"]


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


def test_the_suite_runs_on_the_configured_database():
    """Guards the PostgreSQL run: LEGACYSHOP_TEST_DATABASE_URL really selects the engine under test."""
    import os

    from django.db import connection

    url = os.environ.get("LEGACYSHOP_TEST_DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
