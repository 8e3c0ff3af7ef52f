"""`strangler plan` and `strangler inventory` against a real control plane process (its own home)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from migration_plan.cli.main import app as cli
from tests.integration.controlplane.conftest import ControlPlane, start_control_plane
from tests.support.net import free_port
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ControlPlane]:
    control = start_control_plane(
        tmp_path / "home", tmp_path, STRANGLER_LEGACY_URL=f"http://127.0.0.1:{free_port()}"
    )
    try:
        yield control
    finally:
        control.process.stop()


def _invoke(plane: ControlPlane, *args: str):  # type: ignore[no-untyped-def]
    env = {
        **plane.env,
        "STRANGLER_TOKEN": "",
        "COLUMNS": "200",
        "STRANGLER_PLAN": str(ROOT / "plans/legacyshop.yaml"),
    }
    return CliRunner().invoke(cli, list(args), env=env)


def _api(plane: ControlPlane, path: str):  # type: ignore[no-untyped-def]
    with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as client:
        login = client.post("/session", json={"username": "admin", "password": plane.admin_password()})
        assert login.status_code == 200, login.text
        response = client.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def test_plan_walks_up_blocks_on_gates_forces_on_the_record_and_rolls_back(plane: ControlPlane) -> None:
    status = _invoke(plane, "plan", "status", "--json")
    assert status.exit_code == 0, status.output
    assert [s["step"] for s in json.loads(status.output)["stages"]] == ["not started"] * 4

    preview = _invoke(plane, "plan", "advance", "--dry-run")
    assert preview.exit_code == 0 and "dry run: nothing published" in preview.output, preview.output
    assert "added front-door" in preview.output
    assert _api(plane, "/versions/active")["version"] == 1

    front = _invoke(plane, "plan", "advance")
    assert front.exit_code == 0 and "published version 2" in front.output, front.output

    shadow_preview = _invoke(plane, "plan", "advance", "--dry-run", "--json")
    assert shadow_preview.exit_code == 0, shadow_preview.output
    data = json.loads(shadow_preview.output)
    assert data["stage"] == "catalog-reads" and data["to"] == "shadow" and data["problems"] == []
    assert "advance registers it at http://127.0.0.1:8201" in data["notes"][0]

    shadow = _invoke(plane, "plan", "advance")
    assert shadow.exit_code == 0 and "published version 3" in shadow.output, shadow.output
    registry = {u["name"]: u["url"] for u in _api(plane, "/upstreams")["upstreams"]}
    assert registry["catalog"] == "http://127.0.0.1:8201"

    blocked = _invoke(plane, "plan", "advance")
    assert blocked.exit_code == 1, blocked.output
    assert "0 shadow samples, need 200" in blocked.output and "not published" in blocked.output
    assert _api(plane, "/versions/active")["version"] == 3

    forced = _invoke(plane, "plan", "advance", "--force", "--full-diff")
    assert forced.exit_code == 0 and "published version 4" in forced.output, forced.output
    assert "catalog-pages: shadow -> canary 5%" in forced.output
    assert '-        "mode": "shadow",' in forced.output and '+        "weight": 5' in forced.output
    table = _api(plane, "/versions/active")["table"]
    assert [r["name"] for r in table["rules"]] == [
        "catalog-api-reads",
        "catalog-pages",
        "catalog-home",
        "front-door",
    ]
    assert {r["action"]["weight"] for r in table["rules"][:3]} == {5}

    back = _invoke(plane, "plan", "rollback", "--reason", "drill")
    assert back.exit_code == 0 and "canary 5% -> shadow" in back.output, back.output

    reasons = [v["reason"] for v in _api(plane, "/versions?limit=10")["versions"]]
    assert reasons[:4] == [
        "plan legacyshop: rollback stage catalog-reads canary 5% -> shadow (drill)",
        "plan legacyshop: stage catalog-reads shadow -> canary 5% [forced past failing gates: shadow]",
        "plan legacyshop: stage catalog-reads not started -> shadow",
        "plan legacyshop: stage front-door not started -> passthrough",
    ]
    audit = json.dumps(_api(plane, "/audit?limit=50")["entries"])
    assert "forced past failing gates: shadow" in audit and "rollback stage catalog-reads" in audit

    final = json.loads(_invoke(plane, "plan", "status", "--json").output)
    assert [s["step"] for s in final["stages"]] == ["passthrough", "shadow", "not started", "not started"]
    assert final["stages"][1]["gates"][0]["gate"] == "shadow"


def test_an_unreachable_control_plane_is_one_clear_error(tmp_path: Path) -> None:
    env = {"STRANGLER_ADMIN_URL": f"http://127.0.0.1:{free_port()}", "STRANGLER_TOKEN": "sft_x"}
    result = CliRunner().invoke(
        cli, ["plan", "status", "--plan", str(ROOT / "plans/legacyshop.yaml")], env=env
    )
    assert result.exit_code == 3 and "control plane not reachable" in result.output


def test_inventory_from_the_monolith_command_with_traffic_shares(plane: ControlPlane) -> None:
    _invoke(plane, "plan", "advance")  # the front door rule, so the stats name it
    result = _invoke(plane, "inventory", "--json", "--window", "60")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {row["pattern"]: row for row in data["routes"]}
    product = rows["/api/products/<int:pk>"]
    claims = {claim["stage"]: set(claim["methods"]) for claim in product["claims"]}
    # the reads move with catalog-reads; the staff's PATCH of a product is no stage's yet: the front door's
    assert claims == {"catalog-reads": {"GET", "HEAD"}, "front-door": {"PATCH"}}, product
    assert rows["/api/products/<int:pk>/stock"]["stages"] == ["catalog-writes"]
    assert rows["/api/orders"]["stages"] == ["orders"]
    assert rows["/cart/"]["unclaimed"] and rows["/healthz"]["status"] == "kept on legacy"
    assert data["window_s"] == 60 and data["total_requests"] == 0
    assert not any(pattern.startswith("/admin") for pattern in rows)  # --exclude-admin

    table = _invoke(plane, "inventory", "--fail-on-unclaimed")
    assert table.exit_code == 1 and "no stage migrates" in table.output and "/cart/" in table.output


def test_every_step_of_the_legacyshop_plan_is_a_table_the_control_plane_accepts(plane: ControlPlane) -> None:
    from migration_plan.admin_client import AdminClient
    from migration_plan.plan import PlanEngine, load_plan

    plan = load_plan(ROOT / "plans" / "legacyshop.yaml")
    steps = sum(len(stage.steps) for stage in plan.stages)
    with AdminClient.connect(plane.url, None, plane.home) as admin:
        engine = PlanEngine(plan, admin)
        for _ in range(steps):
            change = engine.advance(force=True)
            assert change.published and not change.problems, change.to_dict()
        assert all(stage.position.complete for stage in engine.status().stages)
        modes = {r["name"]: r["action"]["mode"] for r in _api(plane, "/versions/active")["table"]["rules"]}
        assert modes == {
            "orders-api": "new",
            "orders-pages": "new",
            "catalog-stock-writes": "new",
            "catalog-api-reads": "new",
            "catalog-pages": "new",
            "catalog-home": "new",
            "front-door": "legacy",
        }
        for _ in range(steps):
            change = engine.rollback(force=True, drain_timeout_s=0)
            assert change.published and not change.problems, change.to_dict()
        labels = [stage.position.label for stage in engine.status().stages]
        assert labels == ["not started"] * 4
    assert _api(plane, "/versions/active")["version"] == 1 + 2 * steps
