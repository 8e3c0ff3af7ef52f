"""What a drill drills, read from strangler.toml's [drills] and --route: errors name the key and the line."""

from __future__ import annotations

import pytest

from migration_plan.plan.model import parse_plan
from migration_plan.project import ProjectFileError, parse_project
from migration_plan.toolbox.drills.profile import DrillProfileError, Read, drill_profile
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

BASE = """
[legacy]
command = "gunicorn mysite.wsgi"

[[services]]
name = "things"
path = "new_services/things"
port = 8201
health = "/health/ready"
"""

DRILLS = """
[drills]
route = "drill-things"
upstream = "things"
reads = ["/api/things", { path = "/api/things/{id}", weight = 3 }]
legacy_reads = ["/about/"]
first_id = 1
last_id = 3

[drills.write]
path = "/api/things"
body = { name = "drill" }
read = "/api/things"
user = "drill"
password_env = "DRILL_PASSWORD"
"""


def _error(text: str) -> str:
    with pytest.raises(ProjectFileError) as caught:
        parse_project(text, source="strangler.toml")
    return str(caught.value)


def test_the_drills_section_gives_route_service_load_and_write_probe() -> None:
    profile = drill_profile(parse_project(BASE + DRILLS), environ={"DRILL_PASSWORD": "s3cret"})
    assert (profile.route, profile.upstream, profile.service) == ("drill-things", "things", "things")
    assert profile.reads == (Read("/api/things"), Read("/api/things/{id}", 3))
    assert profile.legacy_reads == (Read("/about/"),) and profile.ids == (1, 2, 3)
    assert profile.match == {"kind": "prefix", "path": "/api/things", "methods": ["GET", "HEAD"]}
    assert profile.service_health == "/health/ready"
    assert profile.write is not None and profile.write.auth == ("drill", "s3cret")
    assert "s3cret" not in repr(profile), "the password is never shown"
    assert profile.write.undo is None and profile.write.field is None


def test_route_as_a_path_drills_that_prefix_with_a_route_of_its_own() -> None:
    profile = drill_profile(
        parse_project(BASE + DRILLS), route="/api/things", environ={"DRILL_PASSWORD": "x"}
    )
    assert profile.route == "drill-api-things"
    assert profile.match == {"kind": "prefix", "path": "/api/things", "methods": ["GET", "HEAD"]}
    assert profile.reads == (Read("/api/things"), Read("/api/things/{id}", 3)), "the reads under it"


def test_route_as_a_path_needs_no_drills_section_when_there_is_one_service() -> None:
    profile = drill_profile(parse_project(BASE), route="/api/widgets")
    assert (profile.route, profile.upstream, profile.reads) == (
        "drill-api-widgets",
        "things",
        (Read("/api/widgets"),),
    )
    assert profile.write is None


def test_without_drills_section_nor_a_path_the_error_says_what_to_add() -> None:
    with pytest.raises(DrillProfileError, match=r"no \[drills\] section.*--route /a/path"):
        drill_profile(parse_project(BASE))
    with pytest.raises(DrillProfileError, match=r"no \[drills\] section"):
        drill_profile(parse_project(BASE), route="things-read")


def test_an_upstream_that_is_no_service_is_named() -> None:
    text = BASE + DRILLS.replace('upstream = "things"', 'upstream = "widgets"')
    with pytest.raises(
        DrillProfileError,
        match=r"\[drills\] upstream = 'widgets' is no service's upstream \(services: things\)",
    ):
        drill_profile(parse_project(text), environ={"DRILL_PASSWORD": "x"})


def test_an_unset_password_variable_is_named() -> None:
    with pytest.raises(DrillProfileError, match=r"password_env = 'DRILL_PASSWORD': that variable is not set"):
        drill_profile(parse_project(BASE + DRILLS), environ={})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('reads = ["/api/things", { path = "/api/things/{id}", weight = 3 }]', "reads = []"),
            ":14: drills.reads: List should have at least 1 item",
        ),
        (
            ('reads = ["/api/things"', 'reads = ["api/things"'),
            ":14: drills.reads.0.path: String should match pattern",
        ),
        (("last_id = 3", "last_id = 0"), ":11: drills: last_id (0) is below first_id (1)"),
        (
            ('read = "/api/things"', 'read = "/api/things"\nundo = "delta"'),
            ":19: drills.write: undo = 'delta' names no key of body",
        ),
        (('path = "/api/things"\nbody', 'path = "/api/things/{id}"\nids = [1, 2]\nbody'), ""),
        (('user = "drill"\n', ""), ":19: drills.write: a password needs a user"),
        (("upstream = ", "upsteam = "), ":13: drills.upsteam: unknown key (a typo?)"),
    ],
)
def test_a_bad_drills_section_is_refused_naming_the_key_and_the_line(
    change: tuple[str, str], expected: str
) -> None:
    text = BASE + DRILLS.replace(*change)
    if not expected:
        parse_project(text)  # {id} in the path: several ids are fine
        return
    assert f"strangler.toml{expected}" in _error(text)


def test_several_ids_need_an_id_placeholder() -> None:
    text = BASE + DRILLS.replace('read = "/api/things"', 'read = "/api/things"\nids = [1, 2]')
    assert "drills.write: several ids need {id} in path or read" in _error(text)


def test_the_repositorys_own_file_drills_the_demo_as_before() -> None:
    """`make drill` is unchanged: the catalog's reads on drill-catalog, stock writes reconciled."""
    from migration_plan.project import load_project

    profile = drill_profile(load_project(ROOT / "strangler.toml"))
    assert (profile.route, profile.upstream, profile.service) == ("drill-catalog", "catalog", "catalog")
    assert profile.write is not None and profile.write.undo == "delta" and profile.write.check_service
    assert profile.write.ids == (1, 2, 3, 4, 5) and profile.ids == tuple(range(1, 51))


PLAN = """name: mysite
stages:
  - name: things
    upstream: things
    routes:
      - name: things-read
        match: {kind: prefix, path: /api/things, methods: [GET, HEAD]}
      - name: things-pages
        match: {kind: pattern, path: '^/things/[0-9]+/$'}
    steps:
      - kind: shadow
  - name: widgets
    upstream: widgets
    routes:
      - name: widgets-read
        match: {kind: prefix, path: /api/widgets}
    steps:
      - kind: shadow
"""


def test_a_route_of_the_plan_is_drilled_with_its_match_and_its_stages_upstream() -> None:
    plan = parse_plan(PLAN)
    profile = drill_profile(parse_project(BASE), route="things-read", plan=plan)
    assert (profile.route, profile.upstream, profile.service) == ("things-read", "things", "things")
    assert profile.match == {"kind": "prefix", "path": "/api/things", "methods": ["GET", "HEAD"]}
    assert profile.reads == (Read("/api/things"),), "its path is read when [drills] names no reads"
    with_section = drill_profile(
        parse_project(BASE + DRILLS), route="things-read", plan=plan, environ={"DRILL_PASSWORD": "x"}
    )
    assert with_section.reads == (Read("/api/things"), Read("/api/things/{id}", 3))


def test_a_plan_route_whose_stage_goes_to_no_service_or_that_gives_nothing_to_read_is_named() -> None:
    plan = parse_plan(PLAN)
    with pytest.raises(
        DrillProfileError, match=r"stage of widgets-read has upstream = 'widgets' is no service"
    ):
        drill_profile(parse_project(BASE), route="widgets-read", plan=plan)
    with pytest.raises(DrillProfileError, match=r"'things-pages' matches a pattern: say what to read"):
        drill_profile(parse_project(BASE), route="things-pages", plan=plan)


def test_a_drills_own_stack_is_the_projects_without_the_callers_steering_variables(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from migration_plan.toolbox.drills.stack import OwnStack, StackError

    project = tmp_path / "strangler.toml"
    project.write_text(
        BASE.replace(
            'command = "gunicorn mysite.wsgi"',
            'command = "gunicorn mysite.wsgi"\nenv = { MYSITE_DATA = "x" }',
        )
        + DRILLS
    )
    for name, value in {
        "STRANGLER_HOME": "/elsewhere",
        "THINGS_PORT": "1",
        "MYSITE_SEED": "9",
        "DATABASE_URL": "postgresql://x",
        "KEPT": "yes",
    }.items():
        monkeypatch.setenv(name, value)
    own = OwnStack(tmp_path / "home", project, "things", "things")
    inherited = own._inherited()
    assert inherited["KEPT"] == "yes"
    assert not {"STRANGLER_HOME", "THINGS_PORT", "MYSITE_SEED", "DATABASE_URL"} & set(inherited)
    with pytest.raises(StackError, match="has no service named 'widgets'"):
        OwnStack(tmp_path / "home", project, "widgets", "widgets")
