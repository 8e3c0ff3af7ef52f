"""Stock written on the catalog service reaches the monolith: real monolith and catalog (gunicorn), the
real forward relay and consumer, and ``python -m acl.sync reverse``; reconcile then finds no difference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import text

from acl.identity import CustomerIdentity, IdentityVerifier, load_identity_key
from tests.integration.sync.harness import SyncStack, eventually, running_sync_stack
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, RunningProcess, start_process

pytestmark = pytest.mark.integration

STAFF = CustomerIdentity(user_id=1, username="staff", name="staff", is_staff=True)
CSRF_SECRET = "k" * 32


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SyncStack]:
    with running_sync_stack(tmp_path) as running:
        yield running


@pytest.fixture
def catalog_url(stack: SyncStack) -> Iterator[str]:
    """The catalog under gunicorn on the stack's catalog database, backfilled first."""
    stack.sync("backfill", "catalog", "--no-progress")
    port = free_port()
    process: RunningProcess = start_process(
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


def _staff_post(stack: SyncStack, url: str, body: dict[str, int], **headers: str) -> httpx2.Response:
    """What the proxy forwards for a staff session: the signed identity and the session's CSRF token."""
    verifier = IdentityVerifier(load_identity_key(Path(stack.env["STRANGLER_HOME"])))
    return httpx2.post(
        url,
        json=body,
        headers={
            "X-Strangler-Identity": verifier.sign(STAFF),
            "Cookie": f"csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
            **headers,
        },
        timeout=30,
    )


def _legacy_row(stack: SyncStack, product_id: int) -> tuple[int, str]:
    with stack.engine("legacy").connect() as connection:
        row = connection.execute(
            text("SELECT stk_qty, upd_dt FROM tbl_product WHERE prd_id = :id"), {"id": product_id}
        ).one()
    return int(row.stk_qty), str(row.upd_dt)


def test_staff_stock_write_on_the_catalog_reaches_the_monolith_without_echo(
    stack: SyncStack, catalog_url: str
) -> None:
    stack.start("relay")
    stack.start("consume")
    stack.start("reverse")
    before = stack.legacy_product(12)

    # a shadow write answers like the real one and leaves nothing behind
    shadow = _staff_post(
        stack, f"{catalog_url}/api/products/12/stock", {"quantity": 55}, **{"X-Strangler-Shadow": "1"}
    )
    assert shadow.status_code == 200 and shadow.json()["stock"] == 55
    assert stack.catalog_stock(12) == before["stock"]
    assert stack.scalar("catalog", "SELECT count(*) FROM service_outbox") == 0

    written = _staff_post(stack, f"{catalog_url}/api/products/12/stock", {"quantity": 77})
    assert written.status_code == 200, written.text
    moved = _staff_post(stack, f"{catalog_url}/api/products/12/stock", {"delta": -5})
    assert moved.status_code == 200 and moved.json()["stock"] == 72
    assert stack.catalog_stock(12) == 72
    assert stack.scalar("catalog", "SELECT count(*) FROM service_outbox WHERE origin = 'catalog'") == 2

    eventually(lambda: _legacy_row(stack, 12)[0] == 72, what="stock 72 in the monolith's tbl_product")
    legacy = stack.legacy_product(12)
    assert legacy["stock"] == 72 and legacy["updated_at"] == moved.json()["updated_at"]
    # the monolith's own outbox events carry the catalog's origin: the consumer drops them as echoes
    origins = stack.scalar(
        "legacy", "SELECT count(*) FROM outbox_event WHERE origin = 'catalog' AND aggregate_id = '12'"
    )
    assert origins == 2
    eventually(
        lambda: stack.scalar("sync", "SELECT count(*) FROM sync_inbox WHERE outcome = 'echo'") == 2,
        what="both echoes recorded by the consumer",
    )
    eventually(
        lambda: json.loads(stack.sync("lag", "--json").stdout)["reverse"]["backlog"] == 0,
        what="reverse backlog drained",
    )
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["legacy_count"] == report["service_count"]
    assert stack.catalog_stock(12) == 72  # no echo came back to overwrite it
