"""docker-compose.yml stays in step with `strangler up`: every process has a container, ports and health
checks agree with the supervisor's specs, dependencies wait on health or on finished migrations, and a
compose CLI accepts the file (`docker compose config`, else Debian's `docker-compose config -q`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec
from migration_plan.toolbox.supervisor.stack import build_stack
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration

COMPOSE = ROOT / "docker-compose.yml"
CONDITIONS = {"service_healthy", "service_completed_successfully"}
PORT_VARIABLES = (
    "STRANGLER_HOME",
    "STRANGLER_DATAPLANE_PORT",
    "STRANGLER_DATAPLANE_INTERNAL_PORT",
    "STRANGLER_ADMIN_PORT",
    "LEGACYSHOP_PORT",
    "CATALOG_PORT",
    "ORDERS_PORT",
)


@pytest.fixture
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


@pytest.fixture
def specs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[ProcessSpec, ...]:
    for variable in PORT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("STRANGLER_SYNC_HEALTH_PORT", raising=False)
    # a home of its own: the stack provisions the internal token in it
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path / "home"))
    settings = StackSettings()
    return build_stack(settings, root=ROOT, environ={}).specs


def test_every_process_of_strangler_up_has_a_container(services, specs) -> None:
    names = [spec.name for spec in specs]
    assert {"legacy", "controlplane", "dataplane", "catalog", "orders"} <= set(names)
    missing = [name for name in names if name not in services]
    assert not missing, f"docker-compose.yml lacks {missing}"
    assert {"postgres", "redis", "legacy-migrate", "locust"} <= set(services)
    assert {
        "sync-relay",
        "sync-consume",
        "sync-reverse",
        "sync-reverse-orders",
        "sync-consume-orders",
    } <= set(names)


def test_ports_and_health_checks_agree_with_the_supervisor(services, specs) -> None:
    for spec in specs:
        service = services[spec.name]
        probe = " ".join(service["healthcheck"]["test"])
        for url in spec.health_urls:
            parts = urlsplit(url)
            assert f"127.0.0.1:{parts.port}{parts.path}" in probe, (spec.name, probe)
        if spec.port is None:  # a service's worker: it listens nowhere, its container checks a heartbeat
            assert "heartbeat" in probe and "--heartbeat" in service["command"], (spec.name, probe)
            continue
        published = [str(p) for p in service.get("ports", [])] + [str(p) for p in service.get("expose", [])]
        assert any(p == str(spec.port) or p.endswith(f":{spec.port}") for p in published), (
            spec.name,
            published,
        )
        text = (
            " ".join(service["command"])
            + " "
            + " ".join(f"{k}={v}" for k, v in service["environment"].items())
        )
        assert str(spec.port) in text, f"{spec.name} does not listen on {spec.port}: {text}"
        if spec.url is not None:  # served to others, not only a health endpoint
            assert "0.0.0.0" in text, f"{spec.name} must bind 0.0.0.0 inside its container"


def test_dependencies_wait_for_health_or_finished_migrations(services) -> None:
    for name, service in services.items():
        one_shot = service.get("restart") == "no"
        if not one_shot:
            assert "healthcheck" in service, f"{name} has no health check"
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            assert condition in CONDITIONS, (name, dependency, condition)
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency]
            else:
                assert services[dependency].get("restart") == "no", f"{dependency} must run once"
    assert services["legacy"]["depends_on"]["legacy-migrate"]["condition"] == "service_completed_successfully"
    _assert_acyclic(services)


def _assert_acyclic(services: dict[str, Any]) -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for dependency in services[name].get("depends_on") or {}:
            visit(dependency, (*path, name))
        done.add(name)

    for name in services:
        visit(name, ())


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_a_compose_cli_accepts_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli = _compose_cli()
    if cli is None:
        message = "no compose CLI here (make test installs it: scripts/ensure-test-tools)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message + "; the structure tests above still run")
    done = subprocess.run(
        [*cli, "-f", str(COMPOSE), "--project-directory", str(ROOT), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr or done.stdout


def test_no_secret_has_a_default_and_every_process_reads_the_generated_ones(services) -> None:
    """No `change-me` or demo password anywhere; the one-shot `secrets` service generates the files
    every process reads, and the monolith and the data plane read the same internal token."""
    text = COMPOSE.read_text()
    assert "change-me" not in text and "password-123" not in text
    init = services["secrets"]
    assert init["restart"] == "no" and "strangler_proxy.secrets_init" in init["command"]
    generated = set(init["command"][4:])
    for name, service in services.items():
        environment = service.get("environment") or {}
        files = {
            k: v for k, v in environment.items() if k.endswith("_FILE") and "/run/strangler-secrets/" in v
        }
        for variable, path in files.items():
            assert path.rsplit("/", 1)[1] in generated, (name, variable, path)
            mounts = " ".join(service.get("volumes", []))
            assert "strangler-secrets:/run/strangler-secrets" in mounts, f"{name} reads {path} unmounted"
    environment = services["dataplane"]["environment"]
    assert (
        environment["STRANGLER_LEGACY_INTERNAL_TOKEN_FILE"] == environment["LEGACYSHOP_INTERNAL_TOKEN_FILE"]
    )
    assert (
        services["legacy-migrate"]["depends_on"]["secrets"]["condition"] == "service_completed_successfully"
    )


def test_the_data_plane_scales_behind_the_load_balancer(services) -> None:
    """`--scale dataplane=N`: no host port on the data plane (only the load balancer publishes 8000),
    a home per replica, and HAProxy finds every replica by name and health-checks it."""
    dataplane = services["dataplane"]
    assert "ports" not in dataplane
    assert "/var/lib/strangler" in dataplane["volumes"]  # an anonymous volume: one home per replica
    balancer = services["loadbalancer"]
    assert balancer["ports"] == ["${STRANGLER_PUBLISHED_PORT:-8000}:8000"]
    assert balancer["depends_on"]["dataplane"]["condition"] == "service_healthy"
    config = (ROOT / "docker" / "haproxy" / "haproxy.cfg").read_text()
    assert "server-template dataplane" in config and "dataplane:8000" in config
    assert "http-check send meth GET uri /_strangler/healthz ver HTTP/1.1 hdr Host" in config
    assert "loadbalancer:8000" in " ".join(services["locust"]["command"])
