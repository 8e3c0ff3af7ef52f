"""`strangler sync ...` runs ``python -m acl.sync``; the supervisor's sync workers are well formed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migration_plan.cli import sync_commands
from migration_plan.cli.main import app
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import validate_specs
from migration_plan.toolbox.supervisor.sync_specs import HEALTH_PORTS, sync_worker_specs
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    recorded: list[tuple[list[str], dict[str, str]]] = []

    def call(argv: list[str], env: dict[str, str]) -> int:
        recorded.append((argv, env))
        return 3 if "reconcile" in argv else 0

    monkeypatch.setattr(sync_commands.subprocess, "call", call)
    return recorded


def test_commands_pass_their_options_and_exit_status_through(calls, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["sync", "backfill", "catalog", "--restart", "--max-pages", "2", "--home", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    argv, env = calls[-1]
    assert argv[:3] == [sys.executable, "-m", "acl.sync"]
    assert argv[3:] == ["backfill", "catalog", "--batch-size", "1000", "--restart", "--max-pages", "2"]
    assert env["STRANGLER_HOME"] == str(tmp_path)
    assert runner.invoke(app, ["sync", "reconcile", "catalog", "--json"]).exit_code == 3
    assert calls[-1][0][3:] == ["reconcile", "catalog", "--limit", "50", "--json"]
    assert runner.invoke(app, ["sync", "lag", "--json"]).exit_code == 0
    assert calls[-1][0][3:] == ["lag", "--json"]


def test_commands_hand_the_child_the_projects_pipelines(
    calls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a subfolder of the project as well: the project file is found as every command finds it."""
    monkeypatch.delenv("STRANGLER_SYNC_PIPELINES", raising=False)
    monkeypatch.delenv("STRANGLER_CONFIG", raising=False)
    (tmp_path / "strangler.toml").write_text(
        '[legacy]\nurl = "http://127.0.0.1:8100"\n\n[sync]\npipelines = ["mysite.sync:PIPELINE"]\n'
    )
    (tmp_path / "deeper").mkdir()
    monkeypatch.chdir(tmp_path / "deeper")
    assert CliRunner().invoke(app, ["sync", "backfill", "things"]).exit_code == 0
    assert calls[-1][1]["STRANGLER_SYNC_PIPELINES"] == "mysite.sync:PIPELINE"
    monkeypatch.setenv("STRANGLER_SYNC_PIPELINES", "other.sync:PIPELINE")  # the variable wins
    assert CliRunner().invoke(app, ["sync", "backfill", "things"]).exit_code == 0
    assert calls[-1][1]["STRANGLER_SYNC_PIPELINES"] == "other.sync:PIPELINE"


def test_the_sync_entry_point_answers_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "acl.sync", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("relay", "consume", "consume-orders", "reverse", "backfill", "reconcile", "lag"):
        assert command in result.stdout


def test_supervisor_specs_for_the_sync_workers(tmp_path: Path) -> None:
    settings = StackSettings(STRANGLER_HOME=str(tmp_path))
    specs = sync_worker_specs(settings, ROOT, {"STRANGLER_SYNC_HEALTH_PORT": "9400"})
    validate_specs(specs)
    assert [spec.name for spec in specs] == [
        "sync-relay",
        "sync-consume",
        "sync-reverse",
        "sync-reverse-orders",
        "sync-consume-orders",
    ]
    assert [spec.health_urls for spec in specs] == [
        ("http://127.0.0.1:9400/readyz",),
        ("http://127.0.0.1:9401/readyz",),
        ("http://127.0.0.1:9402/readyz",),
        ("http://127.0.0.1:9403/readyz",),
        ("http://127.0.0.1:9404/readyz",),
    ]
    assert len(specs) == HEALTH_PORTS
    orders = specs[3]
    assert orders.argv[-3:] == ("reverse", "--health-port", "9403")
    assert orders.env["STRANGLER_SYNC_ORIGIN"] == "orders"
    assert orders.env["STRANGLER_SYNC_SERVICE_DATABASE_URL"].endswith("/services/orders/orders.sqlite3")
    consume_orders = specs[4]
    assert consume_orders.argv[-3:] == ("consume-orders", "--health-port", "9404")
    assert consume_orders.env["ORDERS_DATABASE_URL"] == orders.env["STRANGLER_SYNC_SERVICE_DATABASE_URL"]
    assert consume_orders.setup[0].argv[-3:] == ("backfill", "orders", "--no-progress")
    assert consume_orders.setup[0].once_marker == tmp_path / "sync" / ".orders-backfilled"
    assert not consume_orders.setup[0].required  # a legacy order that does not translate only warns
    consumer = specs[1]
    assert consumer.setup[0].argv[-3:] == ("backfill", "catalog", "--no-progress")
    assert consumer.setup[0].once_marker == tmp_path / "sync" / ".catalog-backfilled"
    assert all(spec.env["STRANGLER_HOME"] == str(tmp_path) and spec.cwd == ROOT for spec in specs)
    assert sync_worker_specs(settings, tmp_path) == []  # a tree without the sync code runs none
    beside = sync_worker_specs(
        StackSettings(STRANGLER_HOME=str(tmp_path), STRANGLER_LEGACY_PORT="9100"), ROOT, {}
    )
    assert [spec.port for spec in beside] == [9301, 9302, 9303, 9304, 9305]
