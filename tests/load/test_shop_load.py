"""`strangler load` for real: locust headless through a real data plane in front of a real LegacyShop."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from migration_plan.cli.main import app as cli
from tests.load.shop_stack import ShopStack, running_shop
from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN, start_process

pytestmark = [pytest.mark.load, pytest.mark.integration]

CUSTOMERS = 15
SHOPPERS = CUSTOMERS - 1
"""The seed's customer count includes the demo customer: it creates customer0001..customer0014."""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopStack]:
    with running_shop(tmp_path_factory.mktemp("shop"), customers=CUSTOMERS) as stack:
        yield stack


def strangler(shop: ShopStack, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **shop.admin_env, "LOADTEST_CUSTOMERS": str(SHOPPERS), "STRANGLER_TOKEN": ""}
    return subprocess.run(
        [str(VENV_BIN / "strangler"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def front_door_requests(shop: ShopStack) -> int:
    password = (shop.home / "secrets" / "admin_password").read_text().strip()
    with httpx2.Client(base_url=shop.admin_url + "/api/v1", timeout=10) as client:
        client.post("/session", json={"username": "admin", "password": password}).raise_for_status()
        routes = client.get("/stats?window=120").json()["routes"]
    return sum(r["legacy"]["requests"] + r["new"]["requests"] for r in routes if r["route"] == "front-door")


def test_shop_traffic_meets_its_thresholds_and_shows_in_the_inventory(
    shop: ShopStack, tmp_path: Path
) -> None:
    env = {**shop.admin_env, "STRANGLER_TOKEN": ""}
    advanced = CliRunner().invoke(cli, ["plan", "advance", "--stage", "front-door"], env=env)
    assert advanced.exit_code == 0, advanced.output

    run = strangler(
        shop,
        "load",
        "--host", shop.front_door,
        "--users", "8",
        "--spawn-rate", "8",
        "--run-time", "10",
        "--reports", str(tmp_path),
        "--csv", "shop",
        "--max-error-rate", "0",
        "--max-p95-ms", "5000",
    )  # fmt: skip
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{shop.logs()}"
    assert "thresholds met" in run.stdout and "total" in run.stdout
    summary = json.loads((tmp_path / "shop_summary.json").read_text())
    assert summary["passed"] and summary["failures"] == 0 and summary["requests"] >= 30
    names = {e["name"] for e in summary["endpoints"]}
    assert {"/", "/products/[id]/", "/accounts/login/ [POST]"} <= names
    assert names & {"/api/cart/items", "/api/cart", "/cart/", "/api/orders", "/orders/"}
    for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv"):
        assert (tmp_path / f"shop{suffix}").is_file()

    deadline = time.monotonic() + 20
    while front_door_requests(shop) < summary["requests"] // 2:
        assert time.monotonic() < deadline, "the data plane's stats never reached the control plane"
        time.sleep(0.5)
    inventory = CliRunner().invoke(cli, ["inventory", "--json", "--window", "120"], env=env)
    assert inventory.exit_code == 0, inventory.output
    rows = {row["pattern"]: row for row in json.loads(inventory.output)["routes"]}
    assert rows["/cart/"]["share"] == 1.0 and rows["/cart/"]["requests"] > 0


def test_a_missed_threshold_exits_1(shop: ShopStack, tmp_path: Path) -> None:
    run = strangler(
        shop,
        "load",
        "--host", shop.front_door,
        "--users", "3",
        "--run-time", "3",
        "--reports", str(tmp_path),
        "--max-p95-ms", "0.01",
        "--tag", "browse",
        "--json",
    )  # fmt: skip
    assert run.returncode == 1, f"{run.stdout}\n{run.stderr}"
    summary = json.loads(run.stdout)
    assert summary["requests"] > 0 and summary["problems"][0].startswith("p95 ")


PROBE_PLAN = """
name: probe
stages:
  - name: probe
    routes: [{name: probe, match: {kind: prefix, path: /probe}}]
    steps:
      - kind: passthrough
        gates:
          load: {users: 3, spawn_rate: 3, run_time_s: 3, max_error_rate: 0, max_p95_ms: 5000, tags: [browse]}
"""


def test_a_load_gate_runs_locust_before_the_step_is_published(shop: ShopStack, tmp_path: Path) -> None:
    plan = tmp_path / "probe.yaml"
    plan.write_text(PROBE_PLAN)
    reports = tmp_path / "reports"
    run = strangler(
        shop,
        "plan",
        "advance",
        "--plan",
        str(plan),
        "--front-door",
        shop.front_door,
        "--reports",
        str(reports),
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "✓ load:" in run.stdout and "published version" in run.stdout
    summaries = list(reports.glob("*_summary.json"))
    assert len(summaries) == 1 and json.loads(summaries[0].read_text())["passed"]


@pytest.fixture
def broken_checkout(shop: ShopStack, tmp_path: Path) -> Iterator[None]:
    """``POST /api/orders`` sent to an upstream that wants the cart in the body; removed afterwards."""
    port = free_port()
    breaker = start_process(
        [str(VENV_BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "1", "tests.load.contract_breaker:app"],
        log_path=tmp_path / "contract_breaker.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    rule = {
        "name": "checkout-elsewhere",
        "match": {"kind": "prefix", "path": "/api/orders", "methods": ["POST"]},
        "action": {"mode": "new", "upstream": "cart-in-body"},
    }
    with _admin(shop) as admin:
        admin.put("/upstreams/cart-in-body", json={"url": f"http://127.0.0.1:{port}"}).raise_for_status()
        added = admin.post("/routes", json={"rule": rule, "position": 0, "reason": "contract breaker"})
        assert added.status_code == 201, added.text
    try:
        yield
    finally:
        with _admin(shop) as admin:
            admin.request("DELETE", "/routes/checkout-elsewhere", json={"reason": "done"}).raise_for_status()
        breaker.stop()


@contextmanager
def _admin(shop: ShopStack) -> Iterator[httpx2.Client]:
    password = (shop.home / "secrets" / "admin_password").read_text().strip()
    with httpx2.Client(base_url=shop.admin_url + "/api/v1", timeout=10) as client:
        login = client.post("/session", json={"username": "admin", "password": password})
        login.raise_for_status()
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        yield client


def _checkout_load(shop: ShopStack, reports: Path) -> subprocess.CompletedProcess[str]:
    return strangler(
        shop,
        "load",
        "--host", shop.front_door,
        "--users", "4",
        "--spawn-rate", "4",
        "--run-time", "6",
        "--reports", str(reports),
        "--csv", "checkout",
        "--tag", "checkout",
        "--max-error-rate", "0",
        "--max-p95-ms", "5000",
        "--json",
    )  # fmt: skip


def test_checkouts_on_the_monolith_pass_the_gate_as_its_own_answers(shop: ShopStack, tmp_path: Path) -> None:
    run = _checkout_load(shop, tmp_path)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{shop.logs()}"
    summary = json.loads(run.stdout)
    checkouts = {e["name"]: e for e in summary["endpoints"]}["/api/orders [checkout]"]
    assert checkouts["requests"] > 0 and checkouts["failures"] == 0


def test_a_service_that_breaks_the_checkout_contract_fails_the_load_gate(
    shop: ShopStack, tmp_path: Path, broken_checkout: None
) -> None:
    run = _checkout_load(shop, tmp_path)
    assert run.returncode == 1, f"{run.stdout}\n{run.stderr}"
    summary = json.loads(run.stdout)
    checkouts = {e["name"]: e for e in summary["endpoints"]}["/api/orders [checkout]"]
    assert checkouts["failures"] == checkouts["requests"] > 0
    failures = (tmp_path / "checkout_failures.csv").read_text()
    assert "expected 201, 409 checkout_failed/insufficient_stock, got 400 invalid_body" in failures
