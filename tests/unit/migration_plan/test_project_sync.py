"""strangler.toml's sync directions and internal token as processes: a reverse relay for each service
direction no demo worker carries, on health ports after the demo's range; the handover's outboxes from the
services with sync; the internal token provisioned by the secret convention and handed to both sides.
LegacyShop's own file still gives today's five workers and outboxes."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from migration_plan.project.loader import ProjectFileError, parse_project
from migration_plan.toolbox.supervisor.internal_token import provision_internal_token
from migration_plan.toolbox.supervisor.reverse_specs import (
    project_reverse_relays,
    service_database_url,
    sync_health_port_count,
    sync_outboxes,
)
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec
from migration_plan.toolbox.supervisor.stack import build_stack
from migration_plan.toolbox.supervisor.sync_specs import HEALTH_PORTS, carried_directions
from strangler_proxy.secrets import SecretError
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

SITE = """
[legacy]
command = "{python} -m gunicorn mysite.wsgi:application --bind 127.0.0.1:{port}"
port = 8100
env = { DJANGO_SETTINGS_MODULE = "mysite.settings" }

[[services]]
name = "things"
path = "new_services/things"
port = 8201

[[services]]
name = "billing"
command = "{python} -m billing --port {port}"
port = 8202
upstream = "invoices"
database = "postgresql://billing@127.0.0.1/billing"

[[services]]
name = "search"
command = "{python} -m search --port {port}"
port = 8203

[sync]
reverse = { things = "reverse:things", invoices = "reverse:billing" }

[secrets.internal_token]
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    (folder / "new_services" / "things" / "entrypoints").mkdir(parents=True)
    (folder / "new_services" / "things" / "entrypoints" / "wsgi.py").write_text("")
    (folder / "strangler.toml").write_text(SITE)
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> StackSettings:
    return StackSettings(STRANGLER_HOME=str(tmp_path / "home"), STRANGLER_LEGACY_PORT=8100)


def _stack(settings: StackSettings, site: Path, environ: dict[str, str]) -> dict[str, ProcessSpec]:
    project = parse_project((site / "strangler.toml").read_text())
    stack = build_stack(settings, root=ROOT, environ=environ, project=project, project_dir=site)
    return {spec.name: spec for spec in stack.specs}


def test_each_services_reverse_direction_runs_a_relay(site: Path, settings: StackSettings) -> None:
    specs = _stack(settings, site, {})
    relays = [name for name in specs if name.startswith("sync-")]
    assert relays == ["sync-reverse-things", "sync-reverse-billing"], "in the file's order, nothing else"
    things, billing = specs["sync-reverse-things"], specs["sync-reverse-billing"]
    base = 8100 + 201 + HEALTH_PORTS  # after the demo workers' range
    assert things.argv == (sys.executable, "-m", "acl.sync", "reverse", "--health-port", str(base))
    assert things.health_urls == (f"http://127.0.0.1:{base}/readyz",)
    assert billing.port == base + 1
    assert things.env["STRANGLER_SYNC_ORIGIN"] == "things"
    assert billing.env["STRANGLER_SYNC_ORIGIN"] == "billing"
    home = settings.home.resolve()
    assert things.env["STRANGLER_SYNC_SERVICE_DATABASE_URL"] == (
        f"sqlite:///{home / 'services' / 'things' / 'things.sqlite3'}"
    ), "the service kit's own database"
    assert billing.env["STRANGLER_SYNC_SERVICE_DATABASE_URL"] == "postgresql://billing@127.0.0.1/billing"
    assert things.env["STRANGLER_LEGACY_URL"] == "http://127.0.0.1:8100"
    assert "LEGACYSHOP_DATA_DIR" not in things.env


def test_a_project_without_pipelines_gives_its_sync_workers_none(site: Path, settings: StackSettings) -> None:
    """Its workers never fall back on a strangler.toml found where they run (the toolkit's checkout names
    the demo's pipelines); the variable set in the environment wins."""
    specs = _stack(settings, site, {})
    assert {specs[name].env["STRANGLER_SYNC_PIPELINES"] for name in specs if name.startswith("sync-")} == {""}
    mine = _stack(settings, site, {"STRANGLER_SYNC_PIPELINES": "mysite.sync:PIPELINE"})
    assert "STRANGLER_SYNC_PIPELINES" not in mine["sync-reverse-things"].env  # inherited as it is


def test_the_environment_moves_the_health_ports_and_the_databases(
    site: Path, settings: StackSettings
) -> None:
    environ = {"STRANGLER_SYNC_HEALTH_PORT": "9400", "THINGS_DATABASE_URL": "postgresql://x@127.0.0.1/things"}
    things = _stack(settings, site, environ)["sync-reverse-things"]
    assert things.port == 9400 + HEALTH_PORTS
    assert things.env["STRANGLER_SYNC_SERVICE_DATABASE_URL"] == "postgresql://x@127.0.0.1/things"
    unset = _stack(settings, site, {"STRANGLER_SYNC_HEALTH_PORT": ""})["sync-reverse-things"]
    assert unset.port == 8100 + 201 + HEALTH_PORTS, "an empty variable is no port"


def test_the_handover_measures_the_services_with_sync(site: Path, settings: StackSettings) -> None:
    controlplane = _stack(settings, site, {})["controlplane"]
    home = settings.home.resolve()
    assert controlplane.env["STRANGLER_SYNC_OUTBOXES"] == (
        f"things=sqlite:///{home / 'services' / 'things' / 'things.sqlite3'},"
        "billing=postgresql://billing@127.0.0.1/billing"
    ), "search has no sync; the monolith's database is not named"
    assert (
        controlplane.env["STRANGLER_SYNC_REVERSE_DIRECTIONS"]
        == "things=reverse:things,invoices=reverse:billing"
    )
    named = {"STRANGLER_SYNC_LEGACY_DATABASE_URL": "postgresql://shop@127.0.0.1/shop"}
    outboxes = _stack(settings, site, named)["controlplane"].env["STRANGLER_SYNC_OUTBOXES"]
    assert outboxes.startswith("legacy=postgresql://shop@127.0.0.1/shop,things=")


def test_the_internal_token_is_generated_once_and_shared(site: Path, settings: StackSettings) -> None:
    specs = _stack(settings, site, {})
    token_file = settings.home / "secrets" / "internal_token"
    token = token_file.read_text().strip()
    assert len(token) >= 32 and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert specs["legacy"].env["STRANGLER_INTERNAL_TOKEN"] == token
    for client in ("dataplane", "things", "billing", "sync-reverse-things", "sync-reverse-billing"):
        assert specs[client].env["STRANGLER_LEGACY_INTERNAL_TOKEN"] == token, client
    assert "STRANGLER_INTERNAL_TOKEN" not in specs["dataplane"].env
    assert "STRANGLER_LEGACY_INTERNAL_TOKEN" not in specs["controlplane"].env
    again = _stack(settings, site, {})
    assert again["legacy"].env["STRANGLER_INTERNAL_TOKEN"] == token, "kept across starts"


def test_the_internal_token_follows_the_secret_convention(
    site: Path, settings: StackSettings, tmp_path: Path
) -> None:
    project = parse_project((site / "strangler.toml").read_text())
    given = provision_internal_token(project, settings.home, {"STRANGLER_INTERNAL_TOKEN": "from-env"})
    assert given.monolith_env == {"STRANGLER_INTERNAL_TOKEN": "from-env"}
    assert given.client_env == {"STRANGLER_LEGACY_INTERNAL_TOKEN": "from-env"}
    mounted = tmp_path / "mounted"
    mounted.write_text("from-file\n")
    from_file = provision_internal_token(
        project, settings.home, {"STRANGLER_INTERNAL_TOKEN_FILE": str(mounted)}
    )
    assert from_file.monolith_env == {"STRANGLER_INTERNAL_TOKEN": "from-file"}
    clients = provision_internal_token(
        project, settings.home, {"STRANGLER_LEGACY_INTERNAL_TOKEN_FILE": str(mounted)}
    )
    assert clients.monolith_env == {"STRANGLER_INTERNAL_TOKEN": "from-file"}
    assert clients.client_env == {}, "the clients read the caller's own variable"
    with pytest.raises(SecretError, match="different tokens"):
        provision_internal_token(
            project,
            settings.home,
            {"STRANGLER_INTERNAL_TOKEN": "one", "STRANGLER_LEGACY_INTERNAL_TOKEN": "two"},
        )
    assert not (settings.home / "secrets" / "internal_token").exists(), "nothing generated when configured"
    strict = parse_project(
        SITE.replace("[secrets.internal_token]", "[secrets.internal_token]\ngenerate = false")
    )
    with pytest.raises(SecretError, match="STRANGLER_INTERNAL_TOKEN_FILE"):
        provision_internal_token(strict, settings.home, {})
    undeclared = parse_project(SITE.replace("[secrets.internal_token]", ""))
    assert provision_internal_token(undeclared, settings.home, {}).monolith_env == {}


def test_directions_no_relay_can_serve_are_warned_about(settings: StackSettings) -> None:
    text = SITE.replace(
        'reverse = { things = "reverse:things", invoices = "reverse:billing" }',
        'reverse = { things = "reverse", ghost = "reverse:ghost" }',
    )
    relays, warnings = project_reverse_relays(parse_project(text))
    assert relays == []
    assert any("sync.reverse.things = 'reverse'" in w and "reverse:things" in w for w in warnings), warnings
    assert any("sync.reverse.ghost" in w and "no [[services]]" in w for w in warnings), warnings


def test_a_direction_is_checked_when_the_file_is_read() -> None:
    shared = SITE.replace('invoices = "reverse:billing"', 'invoices = "reverse:things"')
    with pytest.raises(ProjectFileError, match="share the direction reverse:things"):
        parse_project(shared)
    with pytest.raises(ProjectFileError, match="reverse:<name>"):
        parse_project(SITE.replace('"reverse:billing"', '"reverse:Billing!"'))


def test_legacyshop_keeps_its_five_workers_and_outboxes(tmp_path: Path) -> None:
    settings = StackSettings(STRANGLER_HOME=str(tmp_path / "home"), STRANGLER_LEGACY_PORT=8100)
    stack = build_stack(settings, root=ROOT, environ={})
    names = [spec.name for spec in stack.specs if spec.name.startswith("sync-")]
    assert names == [
        "sync-relay",
        "sync-consume",
        "sync-reverse",
        "sync-reverse-orders",
        "sync-consume-orders",
    ]
    assert [spec.port for spec in stack.specs if spec.name.startswith("sync-")] == list(range(8301, 8306))
    specs = {spec.name: spec for spec in stack.specs}
    home = settings.home
    assert specs["controlplane"].env["STRANGLER_SYNC_OUTBOXES"] == (
        f"legacy=sqlite:///{home / 'legacy' / 'legacy.sqlite3'},"
        f"catalog=sqlite:///{home.resolve() / 'services' / 'catalog' / 'catalog.sqlite3'},"
        f"orders=sqlite:///{home.resolve() / 'services' / 'orders' / 'orders.sqlite3'}"
    )
    token = (home / "secrets" / "internal_token").read_text().strip()
    assert specs["legacy"].env["STRANGLER_INTERNAL_TOKEN"] == token
    assert specs["sync-reverse"].env["STRANGLER_LEGACY_INTERNAL_TOKEN"] == token
    # the control plane writes a resolved conflict's values to both sides as the catalog's relay would
    assert specs["controlplane"].env["STRANGLER_SYNC_RESOLVER"] == "acl.catalog.sync.resolve:create_resolver"
    assert specs["controlplane"].env["STRANGLER_LEGACY_INTERNAL_TOKEN"] == token
    project = parse_project((ROOT / "strangler.toml").read_text())
    carried = carried_directions(project.sync.workers)
    assert carried == {"reverse", "reverse:orders"}
    assert sync_health_port_count(project, carried) == HEALTH_PORTS


def test_a_services_database_defaults_to_the_kits_file(settings: StackSettings, tmp_path: Path) -> None:
    project = parse_project(
        SITE.replace(
            'database = "postgresql://billing@127.0.0.1/billing"', 'database = "sqlite:///{home}/b.db"'
        )
    )
    billing = project.services[1]
    assert service_database_url(billing, settings, tmp_path, {}) == f"sqlite:///{settings.home}/b.db"
    assert sync_outboxes(None, settings, tmp_path, {}) == ""


FORWARD = """
[legacy]
command = "{python} -m gunicorn mysite.wsgi:application --bind 127.0.0.1:{port}"
port = 8100
database = "sqlite:///{root}/db.sqlite3"

[[services]]
name = "things"
command = "{python} -m things --port {port}"
port = 8201

[[services]]
name = "billing"
command = "{python} -m billing --port {port}"
port = 8202
upstream = "invoices"

[sync]
reverse = { things = "reverse:things" }
forward = ["things", "invoices", "nobody"]

[secrets.internal_token]
"""


def test_forward_sync_runs_the_relay_and_a_consumer_per_service(
    settings: StackSettings, tmp_path: Path
) -> None:
    project = parse_project(FORWARD)
    stack = build_stack(
        settings, root=ROOT, environ={"BILLING_PORT": "9302"}, project=project, project_dir=tmp_path
    )
    specs = {spec.name: spec for spec in stack.specs}
    synced = [name for name in specs if name.startswith("sync-")]
    assert synced == ["sync-reverse-things", "sync-relay", "sync-forward-things", "sync-forward-billing"]
    base = 8100 + 201 + HEALTH_PORTS + 1  # after the demo's range and the one reverse relay
    relay, things, billing = specs["sync-relay"], specs["sync-forward-things"], specs["sync-forward-billing"]
    assert relay.argv == (sys.executable, "-m", "acl.sync", "relay", "--health-port", str(base))
    assert relay.env["STRANGLER_SYNC_LEGACY_DATABASE_URL"] == f"sqlite:///{tmp_path}/db.sqlite3"
    assert things.argv[3:] == ("forward", "--health-port", str(base + 1))
    assert billing.port == base + 2
    assert things.env["STRANGLER_SYNC_FORWARD_URL"] == "http://127.0.0.1:8201"
    assert billing.env["STRANGLER_SYNC_FORWARD_URL"] == "http://127.0.0.1:9302", "<NAME>_PORT moves it"
    assert (things.env["STRANGLER_SYNC_ORIGIN"], billing.env["STRANGLER_SYNC_ORIGIN"]) == (
        "things",
        "billing",
    )
    assert things.env["STRANGLER_LEGACY_INTERNAL_TOKEN"] == relay.env["STRANGLER_LEGACY_INTERNAL_TOKEN"] != ""
    assert any("sync.forward: no [[services]] has the upstream 'nobody'" in w for w in stack.warnings)
    assert sync_health_port_count(project) == HEALTH_PORTS + 1 + 3
    # a handover of their writes from the monolith waits for these consumers' inboxes
    consumers = specs["controlplane"].env["STRANGLER_SYNC_FORWARD_CONSUMERS"]
    assert consumers == "things=forward-things,invoices=forward-billing"


def test_forward_sync_needs_the_monolith_s_database(settings: StackSettings, tmp_path: Path) -> None:
    project = parse_project(FORWARD.replace('database = "sqlite:///{root}/db.sqlite3"\n', ""))
    stack = build_stack(settings, root=ROOT, environ={}, project=project, project_dir=tmp_path)
    assert not [spec.name for spec in stack.specs if spec.name.startswith(("sync-relay", "sync-forward"))]
    assert any("set [legacy] database" in warning for warning in stack.warnings)
    with pytest.raises(ProjectFileError, match="things listed twice"):
        parse_project(
            FORWARD.replace('forward = ["things", "invoices", "nobody"]', 'forward = ["things", "things"]')
        )
