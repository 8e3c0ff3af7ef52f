"""`strangler load` for real: locust headless through a real data plane in front of a real LegacyShop."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from migration_plan.cli.main import app as cli
from tests.load.shop_stack import ShopStack, running_shop
from tests.support.processes import ROOT, VENV_BIN

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
