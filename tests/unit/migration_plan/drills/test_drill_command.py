"""`strangler drill`: the names it accepts and its failure without a stack to attach to."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from migration_plan.cli.main import app
from migration_plan.toolbox.drills import SCENARIOS

pytestmark = pytest.mark.unit


def test_every_drill_of_the_issue_is_there() -> None:
    assert list(SCENARIOS) == [
        "errors",
        "slow",
        "killed",
        "database",
        "broker",
        "worker-restart",
        "flip",
        "panic",
    ]


def test_an_unknown_drill_is_refused_with_the_known_names() -> None:
    result = CliRunner().invoke(app, ["drill", "meteor"])
    assert result.exit_code == 1
    assert "unknown drill 'meteor'" in result.output and "errors" in result.output


def test_attaching_to_a_stack_that_is_not_running_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["drill", "panic", "--attach", "--home", str(tmp_path), "--reports", str(tmp_path / "reports")],
        env={"STRANGLER_ADMIN_URL": "http://127.0.0.1:9", "STRANGLER_TOKEN": ""},
    )
    assert result.exit_code == 1
    assert "no credentials" in result.output or "not reachable" in result.output


def test_a_project_without_drills_section_is_told_what_to_add(tmp_path: Path) -> None:
    project = tmp_path / "strangler.toml"
    project.write_text('[legacy]\ncommand = "gunicorn mysite.wsgi"\n')
    result = CliRunner().invoke(app, ["drill", "errors", "--attach", "--config", str(project)])
    assert result.exit_code == 1
    assert "no [drills] section" in result.output and "--route /a/path" in result.output


def test_a_bad_drills_key_is_named_with_its_line(tmp_path: Path) -> None:
    project = tmp_path / "strangler.toml"
    project.write_text('[legacy]\ncommand = "gunicorn mysite.wsgi"\n\n[drills]\nupstream = "x"\nreads = []\n')
    result = CliRunner().invoke(app, ["drill", "errors", "--attach", "--config", str(project)])
    assert result.exit_code == 1
    assert "strangler.toml:6: drills.reads: List should have at least 1 item" in result.output


class _Stack:
    admin_url = "http://127.0.0.1:9"
    home = Path("/nonexistent")


class _Control:
    def remove_created(self) -> None:
        return None


class _Admin:
    def close(self) -> None:
        return None


@pytest.mark.parametrize("name", ["chaos", "orders-crash"])
def test_the_chaos_and_crash_drills_take_the_capacity_fraction(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both measure the route's capacity and run at ``--capacity-fraction`` of it (default 0.5), or at
    ``--rate``; what they are given is what runs (the stack and the drills themselves stubbed here)."""
    from migration_plan.cli import drill_commands
    from migration_plan.toolbox.drills.chaos import ChaosResult
    from migration_plan.toolbox.drills.orders_crash import CrashResult
    from tests.support.processes import ROOT

    given: list[tuple[float | None, float]] = []

    def chaos(stack: object, control: object, options: object, **_: object) -> ChaosResult:
        given.append((options.rate, options.capacity_fraction))  # type: ignore[attr-defined]
        return ChaosResult(1, 0.0, 5.0)

    def crash(stack: object, control: object, options: object, **_: object) -> CrashResult:
        given.append((options.rate, options.capacity_fraction))  # type: ignore[attr-defined]
        return CrashResult(0.0, 3.0, 2, acknowledged=1)

    monkeypatch.setattr(drill_commands.StackAddresses, "from_environment", lambda *_: _Stack())
    monkeypatch.setattr(drill_commands.AdminClient, "connect", lambda *_: _Admin())
    monkeypatch.setattr(drill_commands, "DrillControl", lambda *_: _Control())
    monkeypatch.setattr(drill_commands, "run_chaos", chaos)
    monkeypatch.setattr(drill_commands, "write_chaos_report", lambda *_: tmp_path / "r.md")
    monkeypatch.setattr(drill_commands, "run_orders_crash", crash)
    monkeypatch.setattr(drill_commands, "write_crash_report", lambda *_: tmp_path / "r.md")
    base = ["drill", name, "--attach", "--config", str(ROOT / "strangler.toml"), "--reports", str(tmp_path)]
    for extra in ([], ["--capacity-fraction", "0.8"], ["--rate", "7"]):
        result = CliRunner().invoke(app, [*base, *extra], env={"DEMO_CUSTOMER_PASSWORD": "x"})
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert given == [(None, 0.5), (None, 0.8), (7.0, 0.5)]
