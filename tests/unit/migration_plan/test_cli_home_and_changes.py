"""The CLI's pure parts: where the home is, the stored token, exit codes, flip stages, change files."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from migration_plan.admin_client import AdminApiError, NoCredentials, Unreachable
from migration_plan.cli.apply_commands import ChangeError, apply_changes
from migration_plan.cli.exit_codes import ExitCode, exit_code_for
from migration_plan.cli.guards_commands import parse_assignments
from migration_plan.cli.main import app as cli
from migration_plan.cli.routes_commands import parse_methods, skipped_stages
from migration_plan.credentials import StoredToken, load_token, save_token
from migration_plan.home import find_home, find_project_root


def test_home_explicit_then_environment_then_nearest_project_file(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    deep = project / "src" / "app"
    deep.mkdir(parents=True)
    (project / "strangler.toml").write_text("")
    assert find_home(Path("elsewhere"), cwd=deep, environ={"STRANGLER_HOME": "/x"}) == deep / "elsewhere"
    assert find_home(None, cwd=deep, environ={"STRANGLER_HOME": "/x"}) == Path("/x")
    assert find_home(None, cwd=deep, environ={}) == project / ".strangler"
    assert find_project_root(cwd=deep) == project
    (project / "strangler.toml").write_text('home = "state"\n')
    assert find_home(None, cwd=deep, environ={}) == project / "state"  # the file's own home
    assert find_home(None, cwd=deep, environ={"STRANGLER_CONFIG": str(project / "strangler.toml")}) == (
        project / "state"
    )


def test_without_a_project_file_the_home_is_the_checkouts(tmp_path: Path) -> None:
    checkout = Path(__file__).resolve().parents[3]
    assert find_home(None, cwd=tmp_path, environ={}) == checkout / ".strangler"


def test_token_file_is_private_and_expires(tmp_path: Path) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    stored = StoredToken("sft_a", "http://127.0.0.1:1", "admin", "operator", later)
    path = save_token(tmp_path, stored)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert load_token(tmp_path, "http://127.0.0.1:1/") == stored
    assert load_token(tmp_path, "http://127.0.0.1:2") is None  # another control plane
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    save_token(tmp_path, StoredToken("sft_a", "http://127.0.0.1:1", "admin", "operator", past))
    assert load_token(tmp_path, "http://127.0.0.1:1") is None


def test_exit_codes_say_what_kind_of_failure() -> None:
    assert exit_code_for(Unreachable("control plane not reachable")) == ExitCode.UNREACHABLE == 3
    assert exit_code_for(NoCredentials("no credentials")) == ExitCode.DENIED == 4
    assert exit_code_for(AdminApiError("x", 403)) == ExitCode.DENIED
    assert exit_code_for(AdminApiError("x", 409)) == ExitCode.CONFLICT == 5
    assert exit_code_for(AdminApiError("x", 404)) == ExitCode.NOT_FOUND == 6
    assert exit_code_for(AdminApiError("x", 422)) == ExitCode.FAILED == 1


def test_version_and_unreachable_exit_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("strangler 0.")
    from tests.support.net import free_port

    url = f"http://127.0.0.1:{free_port()}"
    listed = CliRunner().invoke(cli, ["routes", "list", "--url", url, "--token", "sft_x", "-o", "json"])
    assert listed.exit_code == 3, listed.output
    wrong = CliRunner().invoke(cli, ["routes", "list", "--url", url, "--token", "sft_x", "-o", "yaml"])
    assert wrong.exit_code == 2


def test_a_flip_that_skips_stages_names_them() -> None:
    assert skipped_stages("legacy", "new") == ["shadow", "canary"]
    assert skipped_stages("legacy", "canary") == ["shadow"]
    assert skipped_stages("shadow", "canary") == []
    assert skipped_stages("new", "legacy") == []  # going back is a rollback, not a skip


def test_methods_are_checked_and_normalised() -> None:
    assert parse_methods("head, get") == ["GET", "HEAD"]
    with pytest.raises(typer.Exit):
        parse_methods("GET,FETCH")


def test_guard_assignments_take_the_current_types() -> None:
    known = {"failing_windows": 5, "max_error_rate": 0.01}
    assert parse_assignments(["failing-windows=3", "max_error_rate=0.2"], known) == {
        "failing_windows": 3,
        "max_error_rate": 0.2,
    }
    with pytest.raises(typer.Exit):
        parse_assignments(["nope=1"], known)


def _table() -> dict:
    return {
        "upstreams": {"legacy": {"name": "legacy", "url": "http://l"}},
        "rules": [
            {"name": "a", "match": {"kind": "prefix", "path": "/a"}, "action": {"mode": "legacy"}},
            {"name": "old", "match": {"kind": "prefix", "path": "/o"}, "action": {"mode": "legacy"}},
        ],
    }


def test_changes_apply_in_one_candidate_table() -> None:
    registry = {"catalog": {"name": "catalog", "url": "http://c"}}
    changes = {
        "remove": ["old"],
        "rules": [
            {"name": "b", "match": {"kind": "prefix", "path": "/b", "methods": ["GET"]}, "position": 0}
        ],
        "flips": [{"route": "a", "mode": "canary", "weight": 10, "upstream": "catalog"}],
    }
    candidate = apply_changes(_table(), registry, changes)
    assert [r["name"] for r in candidate["rules"]] == ["b", "a"]
    assert candidate["rules"][0]["action"] == {"mode": "legacy"}
    assert candidate["rules"][1]["action"] == {"mode": "canary", "upstream": "catalog", "weight": 10}
    assert set(candidate["upstreams"]) == {"legacy", "catalog"}
    with pytest.raises(ChangeError, match="not registered"):
        apply_changes(_table(), {}, {"flips": [{"route": "a", "mode": "new", "upstream": "x"}]})
    with pytest.raises(ChangeError, match="not in the active table"):
        apply_changes(_table(), {}, {"remove": ["zzz"]})


def test_ps_without_a_supervisor_exits_unreachable_and_takes_output_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ps", "--home", str(tmp_path), "-o", "json"])
    assert result.exit_code == 3, result.output
    assert CliRunner().invoke(cli, ["ps", "--home", str(tmp_path), "-o", "yaml"]).exit_code == 2
