"""strangler.toml: validated with errors that name the line and the key, read by `strangler up`, with the
environment still winning; the repository's own file describes the demo stack as before."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from migration_plan.project import ProjectFileError, load_project, parse_project
from migration_plan.project.convert import procfile_to_project
from migration_plan.project.overrides import settings_values
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.stack import build_stack
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

MINIMAL = """
[legacy]
command = "{python} -m gunicorn mysite.wsgi:application --bind 127.0.0.1:{port}"
port = 9100
env = { DJANGO_SETTINGS_MODULE = "mysite.settings", DATA = "{home}/mysite" }
setup = [{ command = "{python} manage.py migrate --noinput" }]

[[services]]
name = "billing"
command = "{python} -m billing --port {port}"
port = 9201
upstream = "billing_v2"

[sync]
reverse = { billing_v2 = "reverse:billing" }
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    for name in (
        "STRANGLER_HOME",
        "STRANGLER_DATAPLANE_PORT",
        "STRANGLER_ADMIN_PORT",
        "STRANGLER_DATAPLANE_INTERNAL_PORT",
        "STRANGLER_LEGACY_PORT",
        "LEGACYSHOP_PORT",
        "CATALOG_PORT",
        "ORDERS_PORT",
        "STRANGLER_ENGINE",
        "STRANGLER_STORE_URL",
        "STRANGLER_LEGACY_URL",
        "STRANGLER_SYNC_REVERSE_DIRECTIONS",
        "STRANGLER_UPSTREAMS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path / "home"))
    return {"STRANGLER_HOME": str(tmp_path / "home")}


def _stack(text: str, project_dir: Path, environ: dict[str, str]):
    project = parse_project(text)
    settings = StackSettings(**settings_values(project, project_dir, environ))
    return settings, {
        spec.name: spec
        for spec in build_stack(
            settings, root=ROOT, environ=environ, project=project, project_dir=project_dir
        ).specs
    }


def test_errors_name_the_line_and_the_key():
    text = MINIMAL.replace("port = 9201", "port = 99999").replace('upstream = "billing_v2"', 'upstrem = "x"')
    with pytest.raises(ProjectFileError) as caught:
        parse_project(text, source="strangler.toml")
    message = str(caught.value)
    assert "strangler.toml:11: services.0.port: Input should be less than or equal to 65535" in message
    assert "strangler.toml:12: services.0.upstrem: unknown key (a typo?)" in message
    with pytest.raises(ProjectFileError, match=r"strangler.toml:1: legacy: .*command .* or its url"):
        parse_project("[legacy]\nport = 1\n", source="strangler.toml")
    with pytest.raises(ProjectFileError, match="not valid TOML"):
        parse_project("[legacy\n")


def test_the_monolith_and_services_of_the_file_are_run(clean_env: dict[str, str], tmp_path: Path):
    settings, specs = _stack(MINIMAL, tmp_path, clean_env)
    legacy = specs["legacy"]
    assert legacy.argv[:4] == (sys.executable, "-m", "gunicorn", "mysite.wsgi:application")
    assert legacy.argv[-1] == "127.0.0.1:9100" and legacy.port == 9100
    assert legacy.env["DATA"] == f"{settings.home}/mysite"
    assert legacy.health_urls == ("http://127.0.0.1:9100/readyz",)
    assert legacy.setup[0].argv == (sys.executable, "manage.py", "migrate", "--noinput")
    assert legacy.cwd == tmp_path
    assert specs["billing"].argv[-1] == "9201" and specs["billing"].env["BILLING_PORT"] == "9201"
    controlplane = specs["controlplane"].env
    assert controlplane["STRANGLER_UPSTREAMS"] == "billing_v2=http://127.0.0.1:9201"
    assert controlplane["STRANGLER_SYNC_REVERSE_DIRECTIONS"] == "billing_v2=reverse:billing"
    assert controlplane["STRANGLER_LEGACY_URL"] == "http://127.0.0.1:9100"
    assert "catalog" not in specs and "orders" not in specs  # nothing of the demo
    # no demo workers asked for; the service's reverse direction has its relay
    assert [name for name in specs if name.startswith("sync-")] == ["sync-reverse-billing"]


def test_environment_variables_win_and_changes_take_effect_at_the_next_start(
    clean_env: dict[str, str], tmp_path: Path
):
    environ = {
        **clean_env,
        "STRANGLER_ADMIN_PORT": "9301",
        "BILLING_PORT": "9302",
        "DATA": "/elsewhere",
        "STRANGLER_SYNC_REVERSE_DIRECTIONS": "billing_v2=reverse",
    }
    project = parse_project(MINIMAL)
    values = settings_values(project, tmp_path, environ)
    assert "STRANGLER_ADMIN_PORT" not in values
    _, specs = _stack(MINIMAL, tmp_path, environ)
    assert specs["billing"].port == 9302
    assert "DATA" not in specs["legacy"].env  # the supervisor's own environment keeps its value
    assert "STRANGLER_SYNC_REVERSE_DIRECTIONS" not in specs["controlplane"].env
    # The file is read at every start: a new port is used the next time, not frozen at the first.
    _, moved = _stack(MINIMAL.replace("port = 9100", "port = 9110"), tmp_path, clean_env)
    assert moved["legacy"].port == 9110 and moved["controlplane"].env["STRANGLER_LEGACY_URL"].endswith(
        ":9110"
    )


def test_a_monolith_deployed_elsewhere_is_only_a_url(clean_env: dict[str, str], tmp_path: Path):
    text = '[legacy]\nurl = "https://legacy.example.internal"\n'
    _, specs = _stack(text, tmp_path, clean_env)
    assert "legacy" not in specs
    assert specs["controlplane"].env["STRANGLER_LEGACY_URL"] == "https://legacy.example.internal"
    with pytest.raises(ProjectFileError, match="setup steps need a command"):
        parse_project('[legacy]\nurl = "https://x"\nsetup = [{ command = "x" }]\n')


def test_the_repository_s_file_runs_the_demo_stack_as_before(clean_env: dict[str, str]):
    """What `make run` started before strangler.toml existed: LegacyShop, the planes, both services and
    the five sync workers, on the same ports, with the same setup steps."""
    project = load_project(ROOT / "strangler.toml")
    settings = StackSettings(**settings_values(project, ROOT, clean_env))
    stack = build_stack(settings, root=ROOT, environ=clean_env, project=project, project_dir=ROOT)
    specs = {spec.name: spec for spec in stack.specs}
    assert list(specs) == [
        "legacy",
        "controlplane",
        "dataplane",
        "catalog",
        "orders",
        "orders-recover",
        "sync-relay",
        "sync-consume",
        "sync-reverse",
        "sync-reverse-orders",
        "sync-consume-orders",
    ]
    legacy = specs["legacy"]
    assert legacy.argv[3:6] == ("legacy_monolith.wsgi:application", "-c", "legacy_monolith/gunicorn.conf.py")
    assert legacy.health_urls == ("http://127.0.0.1:8100/readyz",) and legacy.cwd == ROOT
    assert legacy.env["LEGACYSHOP_PORT"] == "8100"
    assert legacy.env["LEGACYSHOP_DATA_DIR"] == str(settings.home / "legacy")
    assert [step.argv[-2:] for step in legacy.setup] == [
        ("migrate", "--noinput"),
        ("legacy_monolith.manage", "seed"),
    ]
    assert (
        legacy.setup[1].once_marker == settings.home / "legacy" / ".seeded" and not legacy.setup[1].required
    )
    assert specs["catalog"].argv[-1] == "new_services.catalog.entrypoints.wsgi:app"
    assert specs["catalog"].health_urls == ("http://127.0.0.1:8201/readyz",)
    controlplane = specs["controlplane"].env
    assert controlplane["STRANGLER_UPSTREAMS"] == "catalog=http://127.0.0.1:8201,orders=http://127.0.0.1:8202"
    assert controlplane["STRANGLER_SYNC_REVERSE_DIRECTIONS"] == "catalog=reverse,orders=reverse:orders"
    recover = specs["orders-recover"]  # saga recovery, supervised next to the orders service
    assert recover.argv == (
        sys.executable,
        *("-m", "new_services.orders", "recover", "--every", "10", "--older-than", "60"),
    )
    assert recover.env["ORDERS_PORT"] == "8202" and recover.health_urls == () and recover.port is None
    # Without a project, a checkout's own file is the one read.
    assert [spec.name for spec in build_stack(settings, root=ROOT, environ=clean_env).specs] == list(specs)


def test_the_demo_s_port_variable_and_sync_folder_come_from_the_repository_s_file(
    clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    """LegacyShop's LEGACYSHOP_PORT and LEGACYSHOP_DATA_DIR are named in its strangler.toml, not in the
    toolkit: [legacy] port_variables and [sync] env."""
    project = load_project(ROOT / "strangler.toml")
    settings = StackSettings(**settings_values(project, ROOT, {**clean_env, "LEGACYSHOP_PORT": "18100"}))
    assert settings.legacy_port == 18100
    monkeypatch.setenv("STRANGLER_LEGACY_PORT", "18200")
    environ = {**clean_env, "LEGACYSHOP_PORT": "18100", "STRANGLER_LEGACY_PORT": "18200"}
    assert StackSettings(**settings_values(project, ROOT, environ)).legacy_port == 18200  # it wins
    assert StackSettings().legacy_port == 18200
    monkeypatch.delenv("STRANGLER_LEGACY_PORT")
    monkeypatch.setenv("LEGACYSHOP_PORT", "18100")
    assert StackSettings().legacy_port == 8100, "the toolkit's settings read no demo variable"
    stack = build_stack(settings, root=ROOT, environ=clean_env, project=project, project_dir=ROOT)
    workers = [spec for spec in stack.specs if spec.name.startswith("sync-")]
    assert len(workers) == 5
    assert {spec.env["LEGACYSHOP_DATA_DIR"] for spec in workers} == {str(settings.home / "legacy")}
    # the demo's pipelines, named by its strangler.toml ([sync] pipelines), not by the sync engine
    assert {spec.env["STRANGLER_SYNC_PIPELINES"] for spec in workers} == {
        "acl.catalog.sync.pipeline:PIPELINE acl.orders.sync.pipeline:PIPELINE"
    }


def test_a_service_s_processes_run_next_to_it_with_its_environment(clean_env: dict[str, str], tmp_path: Path):
    text = MINIMAL.replace(
        'upstream = "billing_v2"',
        'upstream = "billing_v2"\nenv = { BILLING_DB = "{home}/billing.db" }\n'
        'processes = [{ name = "retry", command = "{python} -m billing.retry --port {port}",'
        ' env = { RETRY_EVERY = "5" } }]',
    )
    settings, specs = _stack(text, tmp_path, {**clean_env, "BILLING_PORT": "9203"})
    retry = specs["billing-retry"]
    assert retry.argv == (sys.executable, "-m", "billing.retry", "--port", "9203")
    assert retry.env["BILLING_PORT"] == "9203" and retry.env["RETRY_EVERY"] == "5"
    assert retry.env["BILLING_DB"] == f"{settings.home}/billing.db"
    assert retry.env["STRANGLER_HOME"] == str(settings.home)
    assert retry.cwd == tmp_path and retry.health_urls == () and retry.port is None
    assert "billing-retry" not in specs["controlplane"].env["STRANGLER_UPSTREAMS"]  # not an upstream
    twice = text.replace(
        'RETRY_EVERY = "5" } }]', 'RETRY_EVERY = "5" } }, { name = "retry", command = "x" }]'
    )
    with pytest.raises(ProjectFileError, match="two processes of billing are named retry"):
        parse_project(twice)
    with pytest.raises(ProjectFileError, match="process name"):
        parse_project(text.replace('name = "retry"', 'name = "Retry!"'))


def test_a_procfile_converts_to_a_project_file(tmp_path: Path):
    procfile = tmp_path / "procfile.toml"
    procfile.write_text(
        '[[process]]\nname = "web"\ncommand = "python -m http.server 9000"\nport = 9000\n'
        'health = ["http://127.0.0.1:9000/ready"]\n'
        'setup = [{ command = "python seed.py", once = "var/.seeded" }]\n'
        '[[process]]\nname = "api-v2"\ncommand = "python api.py"\nport = 9001\nrestart = "always"\n',
        encoding="utf-8",
    )
    text = procfile_to_project(procfile, legacy="web")
    project = parse_project(text)
    assert project.legacy.command == "python -m http.server 9000" and project.legacy.health == "/ready"
    assert project.legacy.setup[0].once == str(tmp_path / "var" / ".seeded")
    assert [(s.name, s.port, s.command) for s in project.services] == [("api_v2", 9001, "python api.py")]
    assert "api-v2: restart = 'always'" in text  # what has no place in strangler.toml is said, not dropped


def test_the_documented_example_is_a_valid_file():
    page = (ROOT / "docs" / "project-file.md").read_text(encoding="utf-8")
    example = page.split("```toml\n", 1)[1].split("```", 1)[0]
    project = parse_project(example, source="docs/project-file.md")
    assert project.legacy.manage == "{python} manage.py" and project.services[0].name == "catalog"
