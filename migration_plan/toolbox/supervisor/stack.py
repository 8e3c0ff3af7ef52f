"""The process list of `strangler up`: the project's monolith and services (from strangler.toml), the
control plane, the front door, and the sync workers the project asks for.

The planes are the toolkit's own; the monolith and the services are the project's.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path

from migration_plan.project.loader import PROJECT_FILE, load_project
from migration_plan.project.schema import ProjectFile
from migration_plan.toolbox.supervisor.forward_specs import forward_consumers_env, forward_specs
from migration_plan.toolbox.supervisor.internal_token import InternalToken, provision_internal_token
from migration_plan.toolbox.supervisor.project_specs import (
    project_legacy_spec,
    project_process_specs,
    project_service_specs,
    project_sync_env,
)
from migration_plan.toolbox.supervisor.reverse_specs import (
    project_reverse_relays,
    reverse_relay_specs,
    sync_outboxes,
)
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec, validate_specs
from migration_plan.toolbox.supervisor.sync_specs import (
    HEALTH_PORTS,
    carried_directions,
    health_base,
    sync_worker_specs,
)
from strangler_proxy.telemetry import TracingConfig

__all__ = [
    "Stack",
    "build_stack",
    "project_root",
]

# Start order: each stage once the one before is healthy; the services (independent) start together.
STAGE_LEGACY, STAGE_CONTROLPLANE, STAGE_FRONT_DOOR, STAGE_SERVICES = range(4)


@dataclass(frozen=True)
class Stack:
    """What `strangler up` runs, the warnings about what it skipped, and where the admin password lives."""

    specs: tuple[ProcessSpec, ...]
    warnings: tuple[str, ...] = ()
    admin_password_file: Path | None = None

    def only(self, names: Sequence[str]) -> Stack:
        """The same stack restricted to ``names`` (in stack order); unknown names are an error."""
        if not names:
            return self
        known = {spec.name for spec in self.specs}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"unknown process {', '.join(unknown)} (this stack has: {', '.join(sorted(known))})"
            )
        return Stack(
            specs=tuple(spec for spec in self.specs if spec.name in names),
            warnings=self.warnings,
            admin_password_file=self.admin_password_file,
        )


def project_root() -> Path:
    """The folder holding the toolkit's packages (a checkout's root), the current directory as a fallback."""
    spec = PathFinder.find_spec("migration_plan")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).parent
    return Path.cwd()


def build_stack(
    settings: StackSettings,
    *,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    project: ProjectFile | None = None,
    project_dir: Path | None = None,
) -> Stack:
    """The processes of the stack, in start order.

    The monolith and the services are those of ``project`` (``strangler.toml``, read from
    ``project_dir``), else of ``root``'s own strangler.toml (in a checkout of the toolkit: the demo's),
    else there are none and only the planes run. The planes and sync workers are ``root``'s code.
    A declared ``[secrets.internal_token]`` is provisioned here (generated under the home at first
    start): ``SecretError`` when it is configured in a way that cannot be used.
    """
    root = root or project_root()
    environ = os.environ if environ is None else environ
    common = {
        "STRANGLER_HOME": str(settings.home),
        "STRANGLER_STORE_URL": settings.resolved_store_url,
        "STRANGLER_LEGACY_URL": settings.resolved_legacy_url,
    }
    specs: list[ProcessSpec] = []
    warnings: list[str] = []

    if project is None and (root / PROJECT_FILE).is_file():
        project, project_dir = load_project(root / PROJECT_FILE), root
    project_dir = project_dir or root
    services: list[ProcessSpec] = []
    token = InternalToken()
    if project is None:
        warnings.append(f"no {PROJECT_FILE} in {root}: no monolith and no services (see `strangler init`)")
    else:
        token = provision_internal_token(project, settings.home, environ)
        legacy = project_legacy_spec(
            project.legacy, settings, project_dir, environ, {**common, **token.monolith_env}, STAGE_LEGACY
        )
        if legacy is None:
            warnings.append(f"legacy is not run here: the monolith answers at {settings.resolved_legacy_url}")
        else:
            specs.append(with_monolith_tracing(legacy, sys.executable, environ))
        services = project_service_specs(
            project,
            settings,
            project_dir,
            environ,
            {**common, **token.client_env},
            STAGE_SERVICES,
            _no_control_socket(),
        )
    specs.append(_controlplane_spec(settings, root, project_dir, environ, common, project, services))
    specs.append(_front_door_spec(settings, root, environ, {**common, **token.client_env}, warnings))
    specs.extend(services)
    if project is not None:  # the services' workers, once the services are up
        specs.extend(
            project_process_specs(project, settings, project_dir, environ, {**common, **token.client_env})
        )
        workers = _sync_workers(settings, root, project_dir, environ, project, token, warnings)
        specs.extend(workers)
        specs = _with_conflict_resolver(specs, workers)
    validate_specs(specs)
    return Stack(
        specs=tuple(specs), warnings=tuple(warnings), admin_password_file=settings.admin_password_file
    )


def _timing(settings: StackSettings) -> dict[str, float]:
    return {"startup_timeout": settings.startup_timeout, "stop_grace": settings.stop_grace}


def _controlplane_spec(
    settings: StackSettings,
    root: Path,
    project_dir: Path,
    environ: Mapping[str, str],
    common: Mapping[str, str],
    project: ProjectFile | None,
    services: Sequence[ProcessSpec],
) -> ProcessSpec:
    """The control plane, told the services as upstreams and where each side's outbox is."""
    upstream_names = {s.name: s.upstream_name for s in project.services} if project is not None else {}
    env = {
        **common,
        "STRANGLER_ADMIN_PORT": str(settings.admin_port),
        "STRANGLER_UPSTREAMS": _upstreams(environ.get("STRANGLER_UPSTREAMS", ""), services, upstream_names),
        "STRANGLER_ENGINE": settings.engine,
        "STRANGLER_SYNC_OUTBOXES": environ.get("STRANGLER_SYNC_OUTBOXES")
        or sync_outboxes(project, settings, project_dir, environ),
    }
    consumers = forward_consumers_env(project)
    if consumers and "STRANGLER_SYNC_FORWARD_CONSUMERS" not in environ:
        env["STRANGLER_SYNC_FORWARD_CONSUMERS"] = consumers
    if project is not None and project.sync.reverse and "STRANGLER_SYNC_REVERSE_DIRECTIONS" not in environ:
        env["STRANGLER_SYNC_REVERSE_DIRECTIONS"] = ",".join(
            f"{upstream}={direction}" for upstream, direction in project.sync.reverse.items()
        )
    timing = _timing(settings)
    return ProcessSpec(
        name="controlplane",
        argv=(sys.executable, "-m", "strangler_proxy.controlplane"),
        env=env,
        cwd=root,
        health_urls=(f"http://127.0.0.1:{settings.admin_port}/readyz",),
        port=settings.admin_port,
        url=f"http://127.0.0.1:{settings.admin_port}/",
        label="admin UI (control plane)",
        stage=STAGE_CONTROLPLANE,
        startup_timeout=timing["startup_timeout"],
        stop_grace=timing["stop_grace"],
    )


def _front_door_spec(
    settings: StackSettings,
    root: Path,
    environ: Mapping[str, str],
    common: Mapping[str, str],
    warnings: list[str],
) -> ProcessSpec:
    """The data plane, or HAProxy run by its agent (``--engine haproxy``)."""
    env = {
        **common,
        "STRANGLER_DATAPLANE_PORT": str(settings.dataplane_port),
        "STRANGLER_DATAPLANE_INTERNAL_PORT": str(settings.dataplane_internal_port),
        "STRANGLER_DATAPLANE_WORKERS": str(settings.dataplane_workers),
        "STRANGLER_ADMIN_PORT": str(settings.admin_port),
        # X-Strangler-Route/-Target/-Upstream/-Version on every answer: on for the loopback stack, so
        # drills attached to it (and curl -i) see which side served; STRANGLER_DEBUG_HEADERS=false hides them.
        "STRANGLER_DEBUG_HEADERS": environ.get("STRANGLER_DEBUG_HEADERS", "true"),
    }
    timing = _timing(settings)
    if settings.engine == "haproxy":
        return _engine_spec(settings, root, env, timing, warnings)
    return ProcessSpec(
        name="dataplane",
        argv=(sys.executable, "-m", "strangler_proxy.dataplane"),
        env=env,
        cwd=root,
        # readiness is answered on the loopback-only internal port, never the public one
        health_urls=(f"http://127.0.0.1:{settings.dataplane_internal_port}/_strangler/readyz",),
        port=settings.dataplane_port,
        url=f"http://127.0.0.1:{settings.dataplane_port}/",
        label="shop, through the front door",
        stage=STAGE_FRONT_DOOR,
        startup_timeout=timing["startup_timeout"],
        stop_grace=timing["stop_grace"],
    )


CONFLICT_RESOLVER = "acl.catalog.sync.resolve:create_resolver"
"""What writes a resolved product-fields conflict to both sides (``STRANGLER_SYNC_RESOLVER``)."""


def _with_conflict_resolver(specs: list[ProcessSpec], workers: Sequence[ProcessSpec]) -> list[ProcessSpec]:
    """With the catalog's reverse relay among the workers, the control plane writes a resolved conflict's
    chosen values to both sides as that relay would reach them (its environment: the monolith's URL and
    internal token, the databases)."""
    reverse = next((spec for spec in workers if spec.name == "sync-reverse"), None)
    if reverse is None:
        return specs
    return [
        dataclasses.replace(
            spec, env={**reverse.env, **spec.env, "STRANGLER_SYNC_RESOLVER": CONFLICT_RESOLVER}
        )
        if spec.name == "controlplane"
        else spec
        for spec in specs
    ]


def _sync_workers(
    settings: StackSettings,
    root: Path,
    project_dir: Path,
    environ: Mapping[str, str],
    project: ProjectFile,
    token: InternalToken,
    warnings: list[str],
) -> list[ProcessSpec]:
    """The demo's sync workers the project lists (``[sync] workers``), then a reverse relay for each of
    its services' directions in ``[sync] reverse`` that none of those carries, then forward sync for the
    upstreams of ``[sync] forward`` (migration_plan/toolbox/supervisor/forward_specs.py)."""
    workers = sync_worker_specs(settings, root, environ)
    wanted = {f"sync-{name}" for name in project.sync.workers}
    missing_workers = sorted(wanted - {spec.name for spec in workers})
    if missing_workers:
        warnings.append(f"{', '.join(missing_workers)} skipped: the sync code is not in {root}")
    chosen = [
        dataclasses.replace(spec, env={**spec.env, **token.client_env})
        for spec in workers
        if spec.name in wanted
    ]
    relays, relay_warnings = project_reverse_relays(project, carried_directions(project.sync.workers))
    warnings.extend(relay_warnings)
    if relays and not token.client_env and not _token_configured(environ):
        warnings.append(
            "the reverse relays need the monolith's internal token: declare [secrets.internal_token] in"
            " strangler.toml (or set STRANGLER_LEGACY_INTERNAL_TOKEN)"
        )
    chosen.extend(reverse_relay_specs(relays, settings, root, project_dir, environ, token.client_env))
    # the relay and the forward consumers of [sync] forward, on the health ports after the reverse relays'
    base = health_base(settings, environ) + HEALTH_PORTS + len(relays)
    forward = forward_specs(project, settings, root, project_dir, environ, token.client_env, base, warnings)
    if forward and not token.client_env and not _token_configured(environ):
        warnings.append(
            "the forward consumers need the internal token: declare [secrets.internal_token] in"
            " strangler.toml (or set STRANGLER_LEGACY_INTERNAL_TOKEN)"
        )
    chosen.extend(forward)
    env = project_sync_env(project, settings, project_dir)  # [sync] env: what the toolkit sets wins
    if "STRANGLER_SYNC_PIPELINES" not in environ:  # the project's, never a strangler.toml found elsewhere
        env["STRANGLER_SYNC_PIPELINES"] = " ".join(project.sync.pipelines)
    return [dataclasses.replace(spec, env={**env, **spec.env}) for spec in chosen]


def _token_configured(environ: Mapping[str, str]) -> bool:
    names = ("STRANGLER_LEGACY_INTERNAL_TOKEN", "STRANGLER_LEGACY_INTERNAL_TOKEN_FILE")
    return any(environ.get(name, "").strip() for name in names)


def with_monolith_tracing(spec: ProcessSpec, python: str, environ: Mapping[str, str]) -> ProcessSpec:
    """When the ``OTEL_*`` variables turn tracing on, the monolith runs under ``opentelemetry-instrument``
    (Django's instrumentation from the outside: no code in the monolith), exporting OTLP over HTTP as
    ``legacy-monolith``; else ``spec`` unchanged. Django's instrumentation reads the settings as the
    interpreter starts, so ``DJANGO_SETTINGS_MODULE`` must be in the monolith's environment (its
    ``[legacy] env`` in strangler.toml), not only set by its WSGI module."""
    if not TracingConfig.from_environ(environ).enabled:
        return spec
    launcher = str(Path(python).parent / "opentelemetry-instrument")
    env = {
        **spec.env,
        "OTEL_SERVICE_NAME": "legacy-monolith",
        "OTEL_TRACES_EXPORTER": "otlp_proto_http",
        "OTEL_METRICS_EXPORTER": environ.get("OTEL_METRICS_EXPORTER", "none"),
        "OTEL_LOGS_EXPORTER": environ.get("OTEL_LOGS_EXPORTER", "none"),
    }
    return dataclasses.replace(spec, argv=(launcher, *spec.argv), env=env)


def _engine_spec(
    settings: StackSettings,
    root: Path,
    env: Mapping[str, str],
    timing: Mapping[str, float],
    warnings: list[str],
) -> ProcessSpec:
    """HAProxy at the front door, run by its agent; ready once it serves a table from the store."""
    if shutil.which("haproxy") is None and shutil.which("haproxy", path="/usr/sbin") is None:
        warnings.append(
            "haproxy is not installed (Debian: apt-get install haproxy); the front door will not start"
        )
    return ProcessSpec(
        name="haproxy",
        argv=(sys.executable, "-m", "strangler_proxy.engines.haproxy"),
        env={**env, "STRANGLER_ENGINE_STATUS_PORT": str(settings.engine_status_port)},
        cwd=root,
        health_urls=(f"http://127.0.0.1:{settings.engine_status_port}/_strangler/readyz",),
        port=settings.dataplane_port,
        url=f"http://127.0.0.1:{settings.dataplane_port}/",
        label="shop, through the front door (HAProxy)",
        stage=STAGE_FRONT_DOOR,
        startup_timeout=timing["startup_timeout"],
        stop_grace=timing["stop_grace"],
    )


def _upstreams(
    configured: str, services: Sequence[ProcessSpec], upstream_names: Mapping[str, str] | None = None
) -> str:
    """``STRANGLER_UPSTREAMS`` for the control plane: what the user configured, plus each service it lacks
    (under its upstream name, by default the service's)."""
    items = [item.strip() for item in configured.split(",") if item.strip()]
    named = {item.partition("=")[0].strip() for item in items}
    names = upstream_names or {}
    for spec in services:
        upstream = names.get(spec.name, spec.name)
        if upstream not in named:
            items.append(f"{upstream}=http://127.0.0.1:{spec.port}")
    return ",".join(items)


def _no_control_socket() -> tuple[str, ...]:
    """``--no-control-socket`` when this gunicorn has one: its default path is per user, so several
    gunicorn masters on one machine would fight over it."""
    spec = _find_spec("gunicorn.config")
    if spec is None or spec.origin is None:
        return ()
    try:
        supported = "--no-control-socket" in Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        return ()
    return ("--no-control-socket",) if supported else ()


def _find_spec(dotted: str) -> ModuleSpec | None:
    """The spec of ``dotted`` on ``sys.path``, found without importing anything (not even its parents)."""
    path: list[str] | None = None
    spec: ModuleSpec | None = None
    for index in range(len(dotted.split("."))):
        if index:
            if spec is None or spec.submodule_search_locations is None:
                return None
            path = list(spec.submodule_search_locations)
        spec = PathFinder.find_spec(".".join(dotted.split(".")[: index + 1]), path)
        if spec is None:
            return None
    return spec
