"""`strangler up --procfile FILE`: TOML or JSON into validated process specs."""

import json
from pathlib import Path

import pytest

from migration_plan.toolbox.supervisor.backoff import Backoff
from migration_plan.toolbox.supervisor.procfile import ProcfileError, load_procfile
from migration_plan.toolbox.supervisor.spec import RestartPolicy, start_stages

pytestmark = pytest.mark.unit

TOML = """
[[process]]
name = "web"
command = "python -m http.server 9000"
env = { GREETING = "hello", COUNT = 3 }
health = "http://127.0.0.1:9000/"
port = 9000
url = "http://127.0.0.1:9000/"
label = "the web"
restart = "always"
startup_timeout = 5
stop_grace = 1.5
setup = [{ argv = ["python", "seed.py"], once = "var/.seeded" }, { command = "python migrate.py" }]
backoff = { initial = 0.1, cap = 2 }

[[process]]
name = "worker"
argv = ["python", "worker.py", "--queue", "a b"]
cwd = "sub"
"""


def test_toml_file_becomes_specs_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "procs.toml"
    path.write_text(TOML)
    web, worker = load_procfile(path)
    assert web.name == "web"
    assert web.argv == ("python", "-m", "http.server", "9000")
    assert web.env == {"GREETING": "hello", "COUNT": "3"}
    assert web.health_urls == ("http://127.0.0.1:9000/",)
    assert (web.port, web.url, web.label) == (9000, "http://127.0.0.1:9000/", "the web")
    assert web.restart is RestartPolicy.ALWAYS
    assert (web.startup_timeout, web.stop_grace) == (5.0, 1.5)
    assert web.backoff == Backoff(initial=0.1, cap=2)
    assert web.cwd == tmp_path
    assert web.setup[0].argv == ("python", "seed.py")
    assert web.setup[0].once_marker == tmp_path / "var" / ".seeded"
    assert web.setup[1].argv == ("python", "migrate.py") and web.setup[1].once_marker is None
    assert worker.argv == ("python", "worker.py", "--queue", "a b")
    assert worker.cwd == tmp_path / "sub"
    assert worker.restart is RestartPolicy.ON_FAILURE
    assert worker.health_urls == ()


def test_json_file_is_read_as_json(tmp_path: Path) -> None:
    path = tmp_path / "procs.json"
    path.write_text(
        json.dumps({"process": [{"name": "a", "argv": ["true"], "health": ["http://x/1", "http://x/2"]}]})
    )
    (spec,) = load_procfile(path)
    assert spec.health_urls == ("http://x/1", "http://x/2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[process]]\nname = 'a'\n", "exactly one of 'command'"),
        ("[[process]]\nname = 'a'\ncommand = 'x'\nargv = ['x']\n", "exactly one of 'command'"),
        ("[[process]]\nname = 'a'\ncommand = 'x'\nhealt = 'typo'\n", "unknown keys ['healt']"),
        ("[[process]]\ncommand = 'x'\n", "'name' is required"),
        ("[[process]]\nname = 'a b'\ncommand = 'x'\n", "must be letters, digits"),
        ("[[process]]\nname = 'a'\ncommand = 'x'\nrestart = 'sometimes'\n", "'sometimes' is not a valid"),
        ("[[process]]\nname = 'a'\ncommand = 'x'\n[[process]]\nname = 'a'\ncommand = 'y'\n", "two processes"),
        ("title = 'nothing'\n", "expected a list of processes under the key 'process'"),
        ("[[process\n", "is not valid TOML"),
    ],
)
def test_mistakes_are_reported_with_the_file_and_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "procs.toml"
    path.write_text(text)
    with pytest.raises(ProcfileError, match=None) as excinfo:
        load_procfile(path)
    assert message in str(excinfo.value)
    assert str(path) in str(excinfo.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProcfileError, match="cannot read process file"):
        load_procfile(tmp_path / "nope.toml")


def test_neighbours_sharing_a_stage_start_together(tmp_path: Path) -> None:
    path = tmp_path / "procs.toml"
    entries = [("db", None), ("api", 1), ("web", 1), ("worker", 2), ("cron", None), ("mail", None)]
    path.write_text(
        "".join(
            f"[[process]]\nname = '{name}'\ncommand = 'true'\n"
            + (f"stage = {stage}\n" if stage is not None else "")
            for name, stage in entries
        )
    )
    stages = start_stages(load_procfile(path))
    assert [[spec.name for spec in stage] for stage in stages] == [
        ["db"],
        ["api", "web"],
        ["worker"],
        ["cron"],
        ["mail"],
    ]
