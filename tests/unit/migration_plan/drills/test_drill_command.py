"""`strangler drill`: the names it accepts and its failure without a stack to attach to."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from migration_plan.cli.main import app
from migration_plan.drills import SCENARIOS

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
