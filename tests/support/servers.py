"""External servers (PostgreSQL, Redis): skip with a reason when unreachable, fail under CI=true."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = ["POSTGRES_ADMIN_URL", "REDIS_URL", "require_server", "temporary_postgres_database"]

POSTGRES_HOST = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("TEST_POSTGRES_PORT", "5432"))
POSTGRES_ADMIN_URL = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip the test when ``name`` is unreachable; under CI=true, fail instead."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


@contextmanager
def temporary_postgres_database(prefix: str = "sf_test") -> Iterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy-style URL, drop it afterwards."""
    import psycopg

    require_server("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
