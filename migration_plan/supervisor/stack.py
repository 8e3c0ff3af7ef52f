"""The default process list of this repository: monolith, control plane, data plane, extracted services.

Each part is started only when its code exists on disk (looked up without importing it); until the data
plane exists, a plain pass-through keeps the shop reachable through the front door. ``EXTRA_SPECS`` is the
extension point for more processes (sync workers, relays): a list of builders called with the settings.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path

from migration_plan.supervisor.backoff import Backoff
from migration_plan.supervisor.settings import StackSettings
from migration_plan.supervisor.spec import ProcessSpec, SetupStep, validate_specs
from migration_plan.supervisor.sync_specs import sync_worker_specs
from strangler_proxy.telemetry import TracingConfig

__all__ = [
    "EXTRA_SPECS",
    "KNOWN_SERVICE_PORTS",
    "Stack",
    "build_stack",
    "find_module_spec",
    "module_exists",
    "project_root",
    "runnable_module",
]

KNOWN_SERVICE_PORTS = {"catalog": "catalog_port", "orders": "orders_port"}
FIRST_EXTRA_SERVICE_PORT = 8203

# Start order: each stage once the one before is healthy; the services (independent) start together.
STAGE_LEGACY, STAGE_CONTROLPLANE, STAGE_FRONT_DOOR, STAGE_SERVICES = range(4)

SpecBuilder = Callable[[StackSettings], "ProcessSpec | None"]
EXTRA_SPECS: list[SpecBuilder] = []
"""Builders of additional processes (e.g. sync workers), started after the services; None skips one."""


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


def find_module_spec(dotted: str, search_path: Sequence[str] | None = None) -> ModuleSpec | None:
    """The spec of ``dotted`` on ``search_path`` (default ``sys.path``), found without importing anything."""
    path: list[str] | None = list(search_path) if search_path is not None else None
    parts = dotted.split(".")
    spec: ModuleSpec | None = None
    for index in range(len(parts)):
        if index and (spec is None or spec.submodule_search_locations is None):
            return None
        if index:
            assert spec is not None and spec.submodule_search_locations is not None
            path = list(spec.submodule_search_locations)
        spec = PathFinder.find_spec(".".join(parts[: index + 1]), path)
        if spec is None:
            return None
    return spec


def module_exists(dotted: str, search_path: Sequence[str] | None = None) -> bool:
    return find_module_spec(dotted, search_path) is not None


def runnable_module(dotted: str, search_path: Sequence[str] | None = None) -> bool:
    """Whether ``python -m dotted`` finds something to run: a plain module, or a package with ``__main__``."""
    spec = find_module_spec(dotted, search_path)
    if spec is None:
        return False
    return spec.submodule_search_locations is None or module_exists(f"{dotted}.__main__", search_path)


def project_root() -> Path:
    """The folder holding ``legacy_monolith/``, ``new_services/``... (the current directory as a fallback)."""
    spec = PathFinder.find_spec("migration_plan")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).parent
    return Path.cwd()


def build_stack(
    settings: StackSettings, *, root: Path | None = None, environ: Mapping[str, str] | None = None
) -> Stack:
    """The processes of this repository that exist on disk, in start order."""
    root = root or project_root()
    environ = os.environ if environ is None else environ
    search = [str(root)]
    python = sys.executable
    common = {
        "STRANGLER_HOME": str(settings.home),
        "STRANGLER_STORE_URL": settings.resolved_store_url,
        "STRANGLER_LEGACY_URL": settings.resolved_legacy_url,
    }
    timing = {"startup_timeout": settings.startup_timeout, "stop_grace": settings.stop_grace}
    specs: list[ProcessSpec] = []
    warnings: list[str] = []

    def missing(name: str, what: str) -> None:
        warnings.append(f"{name} skipped: {what} does not exist yet")

    conf = root / "legacy_monolith" / "gunicorn.conf.py"
    if not module_exists("legacy_monolith.wsgi", search) or not runnable_module(
        "legacy_monolith.manage", search
    ):
        missing("legacy", "legacy_monolith.wsgi / legacy_monolith.manage")
    elif not conf.is_file():
        missing("legacy", str(conf))
    else:
        data_dir = settings.home / "legacy"
        manage = (python, "-m", "legacy_monolith.manage")
        seed_options = (
            ("--products", str(settings.seed_products)) if settings.seed_products is not None else ()
        )
        traced, tracing_env = monolith_tracing(python, environ)
        specs.append(
            ProcessSpec(
                name="legacy",
                argv=(
                    *traced,
                    python,
                    "-m",
                    "gunicorn",
                    "legacy_monolith.wsgi:application",
                    "-c",
                    str(conf),
                    *_no_control_socket(),
                ),
                env={
                    **common,
                    **tracing_env,
                    "LEGACYSHOP_PORT": str(settings.legacy_port),
                    "LEGACYSHOP_DATA_DIR": str(data_dir),
                },
                cwd=root,
                health_urls=(f"http://127.0.0.1:{settings.legacy_port}/readyz",),
                setup=(
                    SetupStep(argv=(*manage, "migrate", "--noinput")),
                    # The seed refuses (exit 1) when the shop already has data: not a reason to stop.
                    SetupStep(
                        argv=(*manage, "seed", *seed_options),
                        once_marker=data_dir / ".seeded",
                        required=False,
                    ),
                ),
                port=settings.legacy_port,
                url=f"http://127.0.0.1:{settings.legacy_port}/",
                label="monolith, direct (LegacyShop)",
                stage=STAGE_LEGACY,
                **timing,
            )
        )

    services = _service_specs(settings, root, environ, common, timing)
    if runnable_module("strangler_proxy.controlplane", search):
        upstreams = _upstreams(environ.get("STRANGLER_UPSTREAMS", ""), services)
        specs.append(
            ProcessSpec(
                name="controlplane",
                argv=(python, "-m", "strangler_proxy.controlplane"),
                env={
                    **common,
                    "STRANGLER_ADMIN_PORT": str(settings.admin_port),
                    "STRANGLER_UPSTREAMS": upstreams,
                    "STRANGLER_ENGINE": settings.engine,
                },
                cwd=root,
                health_urls=(f"http://127.0.0.1:{settings.admin_port}/readyz",),
                port=settings.admin_port,
                url=f"http://127.0.0.1:{settings.admin_port}/",
                label="admin UI (control plane)",
                stage=STAGE_CONTROLPLANE,
                **timing,
            )
        )
    else:
        missing("controlplane", "strangler_proxy.controlplane.__main__")

    dataplane_env = {
        **common,
        "STRANGLER_DATAPLANE_PORT": str(settings.dataplane_port),
        "STRANGLER_DATAPLANE_INTERNAL_PORT": str(settings.dataplane_internal_port),
        "STRANGLER_DATAPLANE_WORKERS": str(settings.dataplane_workers),
        "STRANGLER_ADMIN_PORT": str(settings.admin_port),
    }
    front_door = {
        "port": settings.dataplane_port,
        "url": f"http://127.0.0.1:{settings.dataplane_port}/",
        "label": "shop, through the front door",
        "stage": STAGE_FRONT_DOOR,
    }
    if settings.engine == "haproxy":
        specs.append(_engine_spec(settings, root, search, dataplane_env, timing, warnings))
    elif runnable_module("strangler_proxy.dataplane", search):
        specs.append(
            ProcessSpec(
                name="dataplane",
                argv=(python, "-m", "strangler_proxy.dataplane"),
                env=dataplane_env,
                cwd=root,
                # readiness is answered on the loopback-only internal port, never the public one
                health_urls=(f"http://127.0.0.1:{settings.dataplane_internal_port}/_strangler/readyz",),
                **front_door,
                **timing,
            )
        )
    else:
        warnings.append(
            "dataplane missing: a plain pass-through to the monolith serves the front door instead"
        )
        specs.append(
            ProcessSpec(
                name="passthrough",
                argv=(python, "-m", "migration_plan.supervisor.passthrough"),
                env=dataplane_env,
                cwd=root,
                # the stand-in has no route table, metrics or version to keep private: one port
                health_urls=(f"http://127.0.0.1:{settings.dataplane_port}/_strangler/readyz",),
                **front_door,
                **timing,
            )
        )

    specs.extend(services)
    specs.extend(sync_worker_specs(settings, root, environ))  # relay, consumer, reverse relay
    for builder in EXTRA_SPECS:
        extra = builder(settings)
        if extra is not None:
            specs.append(extra)
    validate_specs(specs)
    return Stack(
        specs=tuple(specs), warnings=tuple(warnings), admin_password_file=settings.admin_password_file
    )


LEGACY_SETTINGS_MODULE = "legacy_monolith.legacyshop.settings"
"""The demo monolith's settings (what its WSGI module sets by default)."""


def monolith_tracing(python: str, environ: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """When the ``OTEL_*`` variables turn tracing on, the monolith runs under ``opentelemetry-instrument``
    (Django's instrumentation from the outside: no code in the monolith), exporting OTLP over HTTP;
    the launcher's prefix and the variables it needs, else nothing."""
    if not TracingConfig.from_environ(environ).enabled:
        return (), {}
    launcher = str(Path(python).parent / "opentelemetry-instrument")
    return (launcher,), {
        # Django's instrumentation reads the settings when the interpreter starts, before the WSGI
        # module's own setdefault: without the variable it would configure empty settings
        "DJANGO_SETTINGS_MODULE": environ.get("DJANGO_SETTINGS_MODULE", LEGACY_SETTINGS_MODULE),
        "OTEL_SERVICE_NAME": "legacy-monolith",
        "OTEL_TRACES_EXPORTER": "otlp_proto_http",
        "OTEL_METRICS_EXPORTER": environ.get("OTEL_METRICS_EXPORTER", "none"),
        "OTEL_LOGS_EXPORTER": environ.get("OTEL_LOGS_EXPORTER", "none"),
    }


def _engine_spec(
    settings: StackSettings,
    root: Path,
    search: Sequence[str],
    env: Mapping[str, str],
    timing: Mapping[str, float],
    warnings: list[str],
) -> ProcessSpec:
    """HAProxy at the front door, run by its agent; ready once it serves a table from the store."""
    if not runnable_module("strangler_proxy.engines.haproxy", search):
        raise ValueError("--engine haproxy: strangler_proxy.engines.haproxy does not exist in this checkout")
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


def _upstreams(configured: str, services: Sequence[ProcessSpec]) -> str:
    """``STRANGLER_UPSTREAMS`` for the control plane: what the user configured, plus each service it lacks."""
    items = [item.strip() for item in configured.split(",") if item.strip()]
    named = {item.partition("=")[0].strip() for item in items}
    items += [f"{spec.name}=http://127.0.0.1:{spec.port}" for spec in services if spec.name not in named]
    return ",".join(items)


def _no_control_socket() -> tuple[str, ...]:
    """``--no-control-socket`` when this gunicorn has one: its default path is per user, so several
    gunicorn masters on one machine would fight over it."""
    spec = find_module_spec("gunicorn.config")
    if spec is None or spec.origin is None:
        return ()
    try:
        supported = "--no-control-socket" in Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        return ()
    return ("--no-control-socket",) if supported else ()


def _service_specs(
    settings: StackSettings,
    root: Path,
    environ: Mapping[str, str],
    common: Mapping[str, str],
    timing: Mapping[str, float],
) -> list[ProcessSpec]:
    services_dir = root / "new_services"
    names = sorted(
        entry.name
        for entry in (services_dir.iterdir() if services_dir.is_dir() else ())
        if (entry / "entrypoints" / "wsgi.py").is_file() and entry.name.isidentifier()
    )
    next_port = FIRST_EXTRA_SERVICE_PORT
    specs = []
    for name in names:
        variable = f"{name.upper()}_PORT"
        if variable in environ:
            port = int(environ[variable])
        elif name in KNOWN_SERVICE_PORTS:
            port = getattr(settings, KNOWN_SERVICE_PORTS[name])
        else:
            port, next_port = next_port, next_port + 1
        conf = services_dir / name / "gunicorn.conf.py"
        if conf.is_file():
            # The service's own gunicorn settings bind 127.0.0.1:$<NAME>_PORT (and may migrate on start).
            options: tuple[str, ...] = ("-c", str(conf))
        else:
            workers = environ.get(f"{name.upper()}_WORKERS", "2")
            options = ("--bind", f"127.0.0.1:{port}", "--workers", workers, *_no_control_socket())
        specs.append(
            ProcessSpec(
                name=name,
                argv=(
                    sys.executable,
                    "-m",
                    "gunicorn",
                    *options,
                    f"new_services.{name}.entrypoints.wsgi:app",
                ),
                env={**common, variable: str(port)},
                cwd=root,
                health_urls=(f"http://127.0.0.1:{port}/readyz",),
                backoff=Backoff(),
                port=port,
                url=f"http://127.0.0.1:{port}/",
                label=f"{name} service, direct",
                stage=STAGE_SERVICES,
                **timing,
            )
        )
    return specs
