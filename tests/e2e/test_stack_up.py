"""`strangler up` for real: monolith, control plane, data plane, services from a fresh home; then SIGINT."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from migration_plan.toolbox.drills.stack import free_port_range
from migration_plan.toolbox.supervisor.sync_specs import HEALTH_PORTS
from tests.integration.supervisor.harness import StranglerUp, get, group_alive
from tests.support.net import free_port

pytestmark = pytest.mark.integration

STACK_VARIABLES = (
    "STRANGLER_HOME",
    "STRANGLER_STORE_URL",
    "STRANGLER_LEGACY_URL",
    "DATABASE_URL",
    "CATALOG_DATABASE_URL",
    "ORDERS_DATABASE_URL",
)


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[StranglerUp, dict[str, int]]]:
    for name in STACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    ports = {
        name: free_port()
        for name in (
            "LEGACYSHOP_PORT",
            "STRANGLER_ADMIN_PORT",
            "STRANGLER_DATAPLANE_PORT",
            "STRANGLER_DATAPLANE_INTERNAL_PORT",
            "CATALOG_PORT",
            "ORDERS_PORT",
        )
    }
    env = {
        **{name: str(port) for name, port in ports.items()},
        "STRANGLER_SYNC_HEALTH_PORT": str(free_port_range(HEALTH_PORTS)),
        "STRANGLER_DATAPLANE_WORKERS": "1",
        "LEGACYSHOP_SEED_PRODUCTS": "200",
    }
    run = StranglerUp.start(tmp_path / "home", env=env)
    try:
        yield run, ports
    finally:
        run.kill()


def test_the_shop_answers_through_the_front_door_and_sigint_leaves_nothing_running(
    stack: tuple[StranglerUp, dict[str, int]],
) -> None:
    run, ports = stack
    run.wait_ready(timeout=240)
    front = f"http://127.0.0.1:{ports['STRANGLER_DATAPLANE_PORT']}"

    status, page = get(f"{front}/", timeout=10)
    assert status == 200
    direct_status, direct_page = get(f"http://127.0.0.1:{ports['LEGACYSHOP_PORT']}/", timeout=10)
    assert direct_status == 200
    title = direct_page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert f"<title>{title}</title>" in page, "the front door serves the monolith's shop"

    status, body = get(f"{front}/api/products", timeout=10)
    assert status == 200
    products = json.loads(body)
    assert products["count"] == 200, "the first start seeded the small catalogue asked for"
    assert products["results"] and {"sku", "name", "price"} <= set(products["results"][0])

    processes = run.ps()
    assert {"legacy", "controlplane", "dataplane"} <= set(processes)
    assert all(process["state"] == "running" and process["health"] == "ok" for process in processes.values())
    # The orders consumer's first start backfilled the monolith's seeded orders into the orders service.
    assert processes["sync-consume-orders"]["health"] == "ok"
    assert (run.home / "sync" / ".orders-backfilled").exists()
    with closing(sqlite3.connect(run.home / "legacy" / "legacy.sqlite3")) as legacy:
        legacy_orders = {row[0] for row in legacy.execute("SELECT ord_no FROM tbl_order")}
    with closing(sqlite3.connect(run.home / "services" / "orders" / "orders.sqlite3")) as orders:
        synced_orders = {row[0] for row in orders.execute("SELECT order_no FROM orders_order")}
    assert legacy_orders and synced_orders == legacy_orders

    password = (run.home / "secrets" / "admin_password").read_text().strip()
    assert f"password {password} (first start, shown once" in run.output()

    run.signal(signal.SIGINT)
    assert run.wait_exit(timeout=60) == 0, run.output()[-4000:]
    assert [name for name, process in processes.items() if group_alive(process["pid"])] == []
    for port in ports.values():
        with pytest.raises(OSError):
            get(f"http://127.0.0.1:{port}/", timeout=1)
    assert not (run.home / "supervisor.sock").exists()
    assert os.path.exists(run.home / "logs" / "legacy.log")
