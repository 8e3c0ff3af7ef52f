"""`strangler inventory` before any rule: the real data plane counts the unmatched paths, the control
plane serves them, the inventory resolves them to the monolith's URL patterns (real processes)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.integration.controlplane.conftest import (
    ControlPlane,
    start_control_plane,
    start_data_plane,
    start_upstream,
)
from tests.support.processes import ROOT, VENV_BIN, RunningProcess

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    plane: ControlPlane
    proxy_url: str


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    legacy_url, legacy = start_upstream("legacy", tmp_path)
    started: list[RunningProcess] = [legacy]
    try:
        home = tmp_path / "home"
        plane = start_control_plane(home, tmp_path, STRANGLER_LEGACY_URL=legacy_url)
        started.append(plane.process)
        proxy_url, proxy = start_data_plane(
            home,
            tmp_path,
            workers=2,
            STRANGLER_LEGACY_URL=legacy_url,
            STRANGLER_UNMATCHED_PATHS_INTERVAL_S="0.5",
        )
        started.append(proxy)
        yield Stack(plane, proxy_url)
    finally:
        for process in reversed(started):
            process.stop()


def _api(plane: ControlPlane, path: str) -> Any:
    with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as client:
        login = client.post("/session", json={"username": "admin", "password": plane.admin_password()})
        assert login.status_code == 200, login.text
        response = client.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def _strangler(plane: ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, its output piped (not a terminal)."""
    return subprocess.run(
        [str(VENV_BIN / "strangler"), *args],
        cwd=ROOT,
        env={
            **_base_env(),
            **plane.env,
            "STRANGLER_TOKEN": "",
            "STRANGLER_PLAN": str(ROOT / "plans/legacyshop.yaml"),
            "COLUMNS": "80",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("STRANGLER_")}


def test_shares_per_pattern_before_any_rule_from_the_unmatched_paths(stack: Stack) -> None:
    sent = {"/products/{id}/": 60, "/cart/": 20, "/no-such-page/{id}": 10}
    with httpx2.Client(base_url=stack.proxy_url, timeout=10) as client:
        for template, count in sent.items():
            for i in range(count):
                response = client.get(template.format(id=1000 + i))
                assert response.status_code == 200, response.text

    expected = {"/products/{int}/": 60, "/cart/": 20, "/no-such-page/{int}": 10}
    deadline = time.monotonic() + 20
    while True:  # the workers write their path shapes every 0.5 s
        found = _api(stack.plane, "/stats/unmatched-paths?window=120")
        counted = {entry["path"]: entry["requests"] for entry in found["paths"]}
        if counted == expected and found["unmatched_requests"] == 90:
            break
        assert time.monotonic() < deadline, f"unmatched paths never counted: {found}"
        time.sleep(0.1)
    assert found["unattributed"] == 0

    result = _strangler(stack.plane, "inventory", "--output", "json", "--window", "120")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {row["pattern"]: row for row in data["routes"]}
    assert data["total_requests"] == 90 and data["unmatched_requests"] == 90
    assert rows["/products/<int:pk>/"]["requests"] == 60
    assert rows["/products/<int:pk>/"]["share"] == pytest.approx(60 / 90, abs=1e-4)
    assert rows["/products/<int:pk>/"]["share_from"] == "paths"
    assert rows["/cart/"]["requests"] == 20 and rows["/cart/"]["share"] == pytest.approx(20 / 90, abs=1e-4)
    assert rows["/api/orders"]["share"] == 0.0
    assert data["unattributed_requests"] == 10
    assert data["unresolved_paths"] == [{"path": "/no-such-page/{int}", "requests": 10}]

    table = _strangler(stack.plane, "inventory", "--window", "120")  # piped, COLUMNS=80
    assert table.returncode == 0, table.stderr
    assert "…" not in table.stdout
    product = next(line for line in table.stdout.splitlines() if "catalog:product_detail" in line)
    assert "66.7%" in product
    assert "/no-such-page/{int} (10)" in table.stdout

    wide = _strangler(stack.plane, "inventory", "--wide", "--window", "120")
    assert wide.returncode == 0, wide.stderr
    product = next(line for line in wide.stdout.splitlines() if "catalog:product_detail" in line)
    assert "unmatched paths" in product and " 60 " in product and "/products/1/" in product
