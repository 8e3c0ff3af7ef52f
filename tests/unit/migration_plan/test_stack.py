"""The process list: the monolith and services of strangler.toml (a checkout's own: the demo's), the
planes that exist on disk, in dependency order, importing nothing."""

import sys
from pathlib import Path

import pytest

from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec, start_stages
from migration_plan.toolbox.supervisor.stack import build_stack
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit


def touch(root: Path, *relative: str) -> None:
    for name in relative:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("raise RuntimeError('the stack builder must not import this')\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    touch(
        root,
        "legacy_monolith/__init__.py",
        "legacy_monolith/wsgi.py",
        "legacy_monolith/manage.py",
        "legacy_monolith/gunicorn.conf.py",
        "strangler_proxy/__init__.py",
        "strangler_proxy/controlplane/__init__.py",
        "strangler_proxy/controlplane/__main__.py",
        "strangler_proxy/dataplane/__init__.py",
        "strangler_proxy/dataplane/__main__.py",
        "new_services/__init__.py",
        "new_services/catalog/entrypoints/wsgi.py",
        "new_services/orders/entrypoints/wsgi.py",
        "new_services/zeta/entrypoints/wsgi.py",
        "new_services/half_done/domain/model.py",
    )
    # The checkout's project file: LegacyShop and its two services (zeta is not in it, so it is not run)
    (root / "strangler.toml").write_text((ROOT / "strangler.toml").read_text(encoding="utf-8"))
    return root


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StackSettings:
    for name in (
        "STRANGLER_HOME",
        "STRANGLER_DATAPLANE_PORT",
        "STRANGLER_DATAPLANE_INTERNAL_PORT",
        "LEGACYSHOP_PORT",
        "CATALOG_PORT",
        "ORDERS_PORT",
        "STRANGLER_ENGINE",
        "STRANGLER_ENGINE_STATUS_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STRANGLER_DATAPLANE_WORKERS", "3")
    return StackSettings()


def by_name(specs: tuple[ProcessSpec, ...]) -> dict[str, ProcessSpec]:
    return {spec.name: spec for spec in specs}


def test_processes_come_in_dependency_order(repo: Path, settings: StackSettings) -> None:
    stack = build_stack(settings, root=repo, environ={})
    assert [spec.name for spec in stack.specs] == [
        "legacy",
        "controlplane",
        "dataplane",
        "catalog",
        "orders",
        "orders-recover",
    ]
    assert stack.admin_password_file == settings.home / "secrets" / "admin_password"
    dataplane = by_name(stack.specs)["dataplane"]
    assert dataplane.argv[1:] == ("-m", "strangler_proxy.dataplane")
    assert dataplane.url == "http://127.0.0.1:8000/"
    assert dataplane.health_urls == ("http://127.0.0.1:8002/_strangler/readyz",), "the internal port"
    assert dataplane.env["STRANGLER_DATAPLANE_INTERNAL_PORT"] == "8002"
    assert dataplane.env["STRANGLER_DATAPLANE_WORKERS"] == "3"


def test_legacy_is_migrated_every_run_and_seeded_on_first_start_only(
    repo: Path, settings: StackSettings
) -> None:
    legacy = by_name(build_stack(settings, root=repo, environ={}).specs)["legacy"]
    assert legacy.argv[0] == sys.executable
    assert legacy.argv[1:5] == ("-m", "gunicorn", "legacy_monolith.wsgi:application", "-c")
    assert legacy.argv[5] == "legacy_monolith/gunicorn.conf.py" and legacy.cwd == repo
    assert legacy.env["LEGACYSHOP_PORT"] == "8100"
    assert legacy.env["LEGACYSHOP_DATA_DIR"] == str(settings.home / "legacy")
    assert legacy.health_urls == ("http://127.0.0.1:8100/readyz",)
    migrate, seed = legacy.setup
    assert (
        migrate.argv[-3:] == ("legacy_monolith.manage", "migrate", "--noinput")
        and migrate.once_marker is None
    )
    assert seed.argv[-2:] == ("legacy_monolith.manage", "seed")
    assert seed.once_marker == settings.home / "legacy" / ".seeded"
    assert not seed.required, "the seed refuses politely when the shop has data: that must not stop the stack"


def test_planes_share_the_store_and_the_legacy_url(repo: Path, settings: StackSettings) -> None:
    specs = by_name(build_stack(settings, root=repo, environ={}).specs)
    store = f"sqlite:///{settings.home / 'store.sqlite3'}"
    for name in ("controlplane", "dataplane"):
        assert specs[name].env["STRANGLER_STORE_URL"] == store
        assert specs[name].env["STRANGLER_LEGACY_URL"] == "http://127.0.0.1:8100"
        assert specs[name].env["STRANGLER_HOME"] == str(settings.home)
    assert specs["controlplane"].health_urls == ("http://127.0.0.1:8001/readyz",)
    assert specs["controlplane"].url == "http://127.0.0.1:8001/"


def test_services_get_the_file_s_ports_and_env_overrides(repo: Path, settings: StackSettings) -> None:
    specs = by_name(build_stack(settings, root=repo, environ={"ORDERS_PORT": "9302"}).specs)
    assert (specs["catalog"].port, specs["orders"].port) == (8201, 9302)
    assert "zeta" not in specs and "half_done" not in specs, "only the services strangler.toml lists"
    catalog = specs["catalog"]
    assert catalog.argv[-1] == "new_services.catalog.entrypoints.wsgi:app"
    assert catalog.argv[catalog.argv.index("--bind") + 1] == "127.0.0.1:8201"
    assert catalog.env["CATALOG_PORT"] == "8201"
    assert catalog.health_urls == ("http://127.0.0.1:8201/readyz",)


def test_a_service_with_its_own_gunicorn_settings_is_run_with_them(
    repo: Path, settings: StackSettings
) -> None:
    touch(repo, "new_services/catalog/gunicorn.conf.py")
    catalog = by_name(build_stack(settings, root=repo, environ={}).specs)["catalog"]
    assert catalog.argv[1:] == (
        "-m",
        "gunicorn",
        "-c",
        str(repo / "new_services/catalog/gunicorn.conf.py"),
        "new_services.catalog.entrypoints.wsgi:app",
    )
    assert catalog.env["CATALOG_PORT"] == "8201"


def test_ports_come_from_the_environment(repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))
    monkeypatch.setenv("STRANGLER_LEGACY_PORT", "18100")
    monkeypatch.setenv("STRANGLER_ADMIN_PORT", "18001")
    monkeypatch.setenv("STRANGLER_DATAPLANE_PORT", "18000")
    specs = by_name(build_stack(StackSettings(), root=repo, environ={}).specs)
    assert specs["legacy"].health_urls == ("http://127.0.0.1:18100/readyz",)
    assert specs["controlplane"].env["STRANGLER_LEGACY_URL"] == "http://127.0.0.1:18100"
    assert specs["controlplane"].env["STRANGLER_ADMIN_PORT"] == "18001"
    assert specs["dataplane"].url == "http://127.0.0.1:18000/"


def test_without_a_project_file_only_the_planes_run(tmp_path: Path, settings: StackSettings) -> None:
    stack = build_stack(settings, root=tmp_path / "empty", environ={})
    assert [spec.name for spec in stack.specs] == ["controlplane", "dataplane"]
    assert any(warning.startswith("no strangler.toml in") for warning in stack.warnings)


def test_only_keeps_stack_order_and_refuses_unknown_names(repo: Path, settings: StackSettings) -> None:
    stack = build_stack(settings, root=repo, environ={})
    assert [spec.name for spec in stack.only(["catalog", "legacy"]).specs] == ["legacy", "catalog"]
    with pytest.raises(ValueError, match="unknown process nope"):
        stack.only(["nope"])


def test_home_is_absolute_and_never_taken_from_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRANGLER_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.chdir(tmp_path)
    settings = StackSettings()
    assert settings.home == tmp_path / ".strangler"
    assert settings.socket_path == tmp_path / ".strangler" / "supervisor.sock"
    monkeypatch.setenv("STRANGLER_HOME", "relative/state")
    assert StackSettings().home == tmp_path / "relative" / "state"


def test_the_control_plane_learns_the_services_as_upstreams(repo: Path, settings: StackSettings) -> None:
    specs = by_name(build_stack(settings, root=repo, environ={}).specs)
    assert specs["controlplane"].env["STRANGLER_UPSTREAMS"] == (
        "catalog=http://127.0.0.1:8201,orders=http://127.0.0.1:8202"
    )
    configured = {"STRANGLER_UPSTREAMS": "catalog=http://10.0.0.5:9000, search=http://127.0.0.1:9100"}
    specs = by_name(build_stack(settings, root=repo, environ=configured).specs)
    assert specs["controlplane"].env["STRANGLER_UPSTREAMS"] == (
        "catalog=http://10.0.0.5:9000,search=http://127.0.0.1:9100,orders=http://127.0.0.1:8202"
    )


def test_monolith_then_control_plane_then_front_door_then_all_services_together(
    repo: Path, settings: StackSettings
) -> None:
    stages = start_stages(build_stack(settings, root=repo, environ={}).specs)
    assert [[spec.name for spec in stage] for stage in stages] == [
        ["legacy"],
        ["controlplane"],
        ["dataplane"],
        ["catalog", "orders"],
        ["orders-recover"],  # the services' workers, once the services (and their databases) are up
    ]


def test_the_haproxy_engine_takes_the_front_door_and_the_control_plane_knows_it(
    repo: Path, settings: StackSettings
) -> None:
    specs = by_name(
        build_stack(settings.model_copy(update={"engine": "haproxy"}), root=repo, environ={}).specs
    )
    assert "dataplane" not in specs
    engine = specs["haproxy"]
    assert engine.argv[1:] == ("-m", "strangler_proxy.engines.haproxy")
    assert (engine.port, engine.url) == (8000, "http://127.0.0.1:8000/")
    assert engine.health_urls == ("http://127.0.0.1:8010/_strangler/readyz",)
    assert (
        engine.env["STRANGLER_DATAPLANE_PORT"] == "8000"
        and engine.env["STRANGLER_ENGINE_STATUS_PORT"] == "8010"
    )
    assert specs["controlplane"].env["STRANGLER_ENGINE"] == "haproxy"
    assert by_name(build_stack(settings, root=repo, environ={}).specs)["controlplane"].env[
        "STRANGLER_ENGINE"
    ] == ("dataplane")


def test_the_stacks_data_plane_says_which_side_served_unless_told_not_to(
    repo: Path, settings: StackSettings
) -> None:
    touch(repo, "strangler_proxy/dataplane/__main__.py")
    dataplane = by_name(build_stack(settings, root=repo, environ={}).specs)["dataplane"]
    assert dataplane.env["STRANGLER_DEBUG_HEADERS"] == "true"
    quiet = build_stack(settings, root=repo, environ={"STRANGLER_DEBUG_HEADERS": "false"})
    assert by_name(quiet.specs)["dataplane"].env["STRANGLER_DEBUG_HEADERS"] == "false"


def test_the_monolith_runs_under_opentelemetry_instrument_only_when_tracing_is_on(
    repo: Path, settings: StackSettings
) -> None:
    off = by_name(build_stack(settings, root=repo, environ={}).specs)["legacy"]
    assert "opentelemetry-instrument" not in " ".join(off.argv)
    assert not any(name.startswith("OTEL_") for name in off.env)
    on = by_name(
        build_stack(
            settings, root=repo, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
        ).specs
    )["legacy"]
    assert Path(on.argv[0]).name == "opentelemetry-instrument"
    assert on.argv[1:] == off.argv
    assert on.env["OTEL_TRACES_EXPORTER"] == "otlp_proto_http"
    assert on.env["OTEL_SERVICE_NAME"] == "legacy-monolith"
    assert on.env["DJANGO_SETTINGS_MODULE"] == "legacy_monolith.legacyshop.settings"
