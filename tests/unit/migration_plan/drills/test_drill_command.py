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
