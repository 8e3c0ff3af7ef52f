"""The catalog under gunicorn on a sync stack's catalog database, and requests to it as a staff identity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

from acl.identity_verifier import CustomerIdentity, IdentityVerifier, load_identity_key
from tests.integration.sync.harness import SyncStack
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, start_process

__all__ = ["running_catalog", "staff_request"]

STAFF = CustomerIdentity(user_id=1, username="staff", name="staff", is_staff=True)
CSRF_SECRET = "k" * 32


@contextmanager
def running_catalog(stack: SyncStack) -> Iterator[str]:
    """The catalog's base URL, backfilled from the monolith first."""
    stack.sync("backfill", "catalog", "--no-progress")
    port = free_port()
    process = start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "new_services/catalog/gunicorn.conf.py",
            "new_services.catalog.entrypoints.wsgi:app",
        ],
        log_path=stack.workdir / "catalog.log",
        env={**stack.env, "CATALOG_PORT": str(port), "CATALOG_WORKERS": "2"},
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def staff_request(stack: SyncStack, method: str, url: str, body: dict[str, Any]) -> httpx2.Response:
    """What the proxy forwards for a staff session: the signed identity and the session's CSRF token."""
    verifier = IdentityVerifier(load_identity_key(Path(stack.env["STRANGLER_HOME"])))
    return httpx2.request(
        method,
        url,
        json=body,
        headers={
            "X-Strangler-Identity": verifier.sign(STAFF),
            "Cookie": f"csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
        },
        timeout=30,
    )
