"""The project's locustfile: ``[load] locustfile`` of strangler.toml (relative to it), read by the drills'
locust users, `strangler load` and the plan's load gates; ``--locustfile`` wins; without either (and
without the demo's loadtests/shop.py, as in an installed toolkit) an error that says what to set."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import migration_plan.project.locustfile as locustfiles
from migration_plan.cli.main import app
from migration_plan.plan import load_gate_runner
from migration_plan.plan.gates import GateSourceError
from migration_plan.plan.model import LoadGate
from migration_plan.project import ProjectFileError, parse_project
from migration_plan.project.locustfile import LocustfileError, project_locustfile
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

PROJECT = """
[legacy]
url = "http://127.0.0.1:9100"

[[services]]
name = "things"
command = "{python} -m things --port {port}"
port = 9201

[drills]
upstream = "things"
reads = ["/api/things"]
"""


def test_the_key_is_validated_and_named_with_its_line():
    with pytest.raises(ProjectFileError) as raised:
        parse_project(PROJECT + '\n[load]\nlocustfile = "loadtests/mysite.txt"\n', source="strangler.toml")
    assert "strangler.toml:15: load.locustfile" in str(raised.value)
    assert "a locustfile is a Python file (.py)" in str(raised.value)
    with pytest.raises(ProjectFileError, match=r"load\.users: unknown key"):
        parse_project(PROJECT + "\n[load]\nusers = 3\n")
    assert parse_project(PROJECT).load.locustfile is None


def test_the_project_s_locustfile_is_relative_to_its_file(tmp_path: Path):
    (tmp_path / "loadtests").mkdir()
    mine = tmp_path / "loadtests" / "mysite.py"
    mine.write_text("from locust import HttpUser\n")
    project = parse_project(PROJECT + '\n[load]\nlocustfile = "loadtests/mysite.py"\n')
    assert project_locustfile(None, project, tmp_path, demo_root=tmp_path) == mine.resolve()
    explicit = tmp_path / "other.py"
    explicit.write_text("")
    assert project_locustfile(explicit, project, tmp_path) == explicit.resolve(), "the option wins"


def test_a_missing_project_locustfile_names_the_key(tmp_path: Path):
    project = parse_project(PROJECT + '\n[load]\nlocustfile = "loadtests/mysite.py"\n')
    with pytest.raises(LocustfileError, match=r"\[load\] locustfile = 'loadtests/mysite.py'.*does not exist"):
        project_locustfile(None, project, tmp_path, demo_root=tmp_path)


def test_without_key_or_option_the_demo_s_file_else_an_error_saying_what_to_set(tmp_path: Path):
    project = parse_project(PROJECT)
    assert project_locustfile(None, project, tmp_path, demo_root=ROOT) == ROOT / "loadtests" / "shop.py"
    with pytest.raises(LocustfileError) as raised:
        project_locustfile(None, project, tmp_path, demo_root=tmp_path)
    message = str(raised.value)
    assert '[load] locustfile = "loadtests/mysite.py"' in message and "--locustfile FILE" in message


def test_the_drill_refuses_locust_users_without_a_locustfile_before_starting_a_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """As from an installed toolkit (no loadtests/ beside it): exit 1 with what to set, no traceback."""
    monkeypatch.setattr(locustfiles, "PROJECT_ROOT", tmp_path / "wheel")
    config = tmp_path / "strangler.toml"
    config.write_text(PROJECT)
    args = ["drill", "errors", "--config", str(config), "--route", "/api/things", "--locust-users", "2"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 1, done.output
    assert "--locust-users: no locustfile" in done.output
    assert "[load] locustfile" in done.output and "starting a stack" not in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)


def test_a_load_gate_without_its_own_locustfile_runs_the_project_s(tmp_path: Path):
    def none() -> Path:
        raise LocustfileError("no locustfile for this project's load: name it in [load] locustfile")

    run = load_gate_runner("http://127.0.0.1:9", tmp_path, none)
    with pytest.raises(GateSourceError, match=r"\[load\] locustfile"):
        run(LoadGate())
    with pytest.raises(GateSourceError, match=r"nope\.py does not exist"):
        run(LoadGate(locustfile=str(tmp_path / "nope.py")))
