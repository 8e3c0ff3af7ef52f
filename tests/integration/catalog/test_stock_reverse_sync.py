"""Stock written on the catalog service reaches the monolith: real monolith and catalog (gunicorn), the
real forward relay and consumer, and ``python -m acl.sync reverse``; reconcile then finds no difference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import text

from acl.identity_verifier import CustomerIdentity, IdentityVerifier, load_identity_key
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


def test_writes_on_both_sides_while_the_reverse_relay_is_down_add_up_on_both(
    stack: SyncStack, catalog_url: str
) -> None:
    """A forced rollback with the catalog's writes still in its outbox (the reverse relay down): the
    monolith takes writes again while the catalog's wait. Each side's moves reach the other as moves,
    applied once: both end at the initial stock plus every acknowledged move, and reconcile agrees."""
    stack.start("relay")
    stack.start("consume")
    initial = stack.legacy_product(12)["stock"]
    assert stack.catalog_stock(12) == initial
    on_catalog = _staff_post(stack, f"{catalog_url}/api/products/12/stock", {"delta": 5})
    assert on_catalog.status_code == 200 and on_catalog.json()["stock"] == initial + 5
    assert stack.move_stock(12, 3)["stock"] == initial + 3  # the monolith knows nothing of the +5 yet
    # the monolith's +3 reaches the catalog as a move: the catalog's unsynced +5 stays
    eventually(lambda: stack.catalog_stock(12) == initial + 8, what="catalog at initial + 5 + 3")
    stack.start("reverse")
    eventually(lambda: _legacy_row(stack, 12)[0] == initial + 8, what="monolith at initial + 5 + 3")
    eventually(
        lambda: json.loads(stack.sync("lag", "--json").stdout)["reverse"]["backlog"] == 0,
        what="reverse backlog drained",
    )
    eventually(
        lambda: stack.scalar("sync", "SELECT count(*) FROM sync_inbox WHERE outcome = 'echo'") == 1,
        what="the echo of the catalog's move recorded by the consumer",
    )
    assert stack.catalog_stock(12) == initial + 8 and _legacy_row(stack, 12)[0] == initial + 8
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == []
    # against the truth too: each side's changes applied once on the other, the stock versions equal
    assert report["history"]["ok"] is True and report["ok"] is True


def test_a_level_set_while_the_other_side_moved_is_parked_as_a_conflict(
    stack: SyncStack, catalog_url: str
) -> None:
    """A level does not commute: set on the catalog while the monolith moved the stock, it is not
    applied over the monolith's newer value but parked in the monolith's conflict queue, both values
    kept; the monolith's move still reaches the catalog."""
    stack.start("relay")
    stack.start("consume")
    initial = stack.legacy_product(12)["stock"]
    eventually(lambda: stack.catalog_stock(12) == initial, what="catalog in step")
    assert _staff_post(stack, f"{catalog_url}/api/products/12/stock", {"quantity": 50}).status_code == 200
    stack.move_stock(12, 1)
    eventually(lambda: stack.catalog_stock(12) == 51, what="the monolith's move applied on the catalog")
    stack.start("reverse")
    eventually(
        lambda: stack.scalar("legacy", "SELECT count(*) FROM sync_conflict WHERE aggregate_id = '12'") == 1,
        what="the catalog's level parked in the monolith's conflict queue",
    )
    row = stack.rows("legacy", "SELECT ours, theirs, resolved_at FROM sync_conflict")[0]
    assert json.loads(row.ours) == {"stk_qty": initial + 1}
    assert json.loads(row.theirs)["stk_qty"] == 50 and row.resolved_at is None
    assert _legacy_row(stack, 12)[0] == initial + 1  # never overwritten
    reconcile = stack.sync("reconcile", "catalog", "--json", check=False)
    assert reconcile.returncode == 1 and json.loads(reconcile.stdout)["history"]["open_conflicts"] == 1
