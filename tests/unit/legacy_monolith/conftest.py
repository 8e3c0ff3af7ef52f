"""Configure Django for the monolith's tests without touching the process environment.

The database comes from LEGACYSHOP_TEST_DATABASE_URL (any dj-database-url URL; pytest-django creates and
drops ``test_<name>``), else an in-memory SQLite database. tests/integration/legacy_monolith/
test_postgres_suite.py runs this whole folder again against a fresh PostgreSQL database that way.
"""

from __future__ import annotations

import os
import tempfile
from unittest import mock

import django
import pytest
from django.conf import settings

TEST_DATABASE_URL_ENV = "LEGACYSHOP_TEST_DATABASE_URL"


def _configure_django() -> None:
    if settings.configured:
        return
    data_dir = tempfile.mkdtemp(prefix="legacyshop-tests-")
    overrides = {
        "LEGACYSHOP_DATA_DIR": data_dir,
        "LEGACYSHOP_SECRET_KEY": "tests-only-secret-key-not-for-production-use-0123456789",
        "DATABASE_URL": os.environ.get(TEST_DATABASE_URL_ENV) or f"sqlite:///{data_dir}/legacy.sqlite3",
    }
    # The settings module reads the environment at import; patch it only for that import.
    with mock.patch.dict(os.environ, overrides):
        from legacy_monolith.legacyshop import settings as shop_settings

        values = {name: getattr(shop_settings, name) for name in dir(shop_settings) if name.isupper()}
    values["PASSWORD_HASHERS"] = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.configure(**values)
    django.setup()


_configure_django()


@pytest.fixture
def csrf_client():
    """A test client that enforces CSRF checks like a browser would meet them."""
    from django.test import Client

    return Client(enforce_csrf_checks=True)
