"""The monolith and the services of ``strangler.toml`` as process specs (the rest of the stack is generic).

``{python}``, ``{home}``, ``{port}`` and ``{root}`` are replaced in commands, setup steps, ``env`` values
and ``cwd``; relative paths are relative to the folder of ``strangler.toml``. A variable of ``env`` that
is set in the supervisor's own environment keeps that value.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from migration_plan.project.schema import LegacySection, ProjectFile, ServiceSection
from migration_plan.toolbox.supervisor.backoff import Backoff
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec, SetupStep

__all__ = [
    "fill_text",
    "legacy_manage_command",
    "project_legacy_spec",
    "project_process_specs",
    "project_service_specs",
    "project_sync_env",
]


class _Fill:
    def __init__(self, settings: StackSettings, project_dir: Path, port: int) -> None:
        self.values = {
            "python": sys.executable,
            "home": str(settings.home),
            "port": str(port),
            "root": str(project_dir),
        }
        self.project_dir = project_dir

    def text(self, value: str, where: str) -> str:
        try:
            return value.format_map(self.values)
        except (KeyError, IndexError, ValueError) as exc:
            known = ", ".join("{" + name + "}" for name in self.values)
            raise ValueError(
                f"strangler.toml: {where}: cannot fill in {value!r} ({exc}); known: {known}"
            ) from exc

    def argv(self, command: str, where: str) -> tuple[str, ...]:
        return tuple(self.text(part, where) for part in shlex.split(command))

    def path(self, value: str, where: str) -> Path:
        path = Path(self.text(value, where)).expanduser()
        return path if path.is_absolute() else self.project_dir / path

    def env(self, env: Mapping[str, str], environ: Mapping[str, str], where: str) -> dict[str, str]:
        return {
            name: self.text(value, f"{where}.env.{name}")
            for name, value in env.items()
            if name not in environ
        }


def fill_text(value: str, settings: StackSettings, project_dir: Path, where: str) -> str:
    """``value`` with ``{python}``, ``{home}`` and ``{root}`` filled in (``{port}``: none, empty)."""
    return _Fill(settings, project_dir, 0).text(value, where)


def project_sync_env(project: ProjectFile, settings: StackSettings, project_dir: Path) -> dict[str, str]:
    """``[sync] env``, its placeholders filled: variables of every sync worker."""
    return {
        name: fill_text(value, settings, project_dir, f"sync.env.{name}")
        for name, value in project.sync.env.items()
    }


def _health(health: str, port: int, fill: _Fill, where: str) -> str:
    if health.startswith(("http://", "https://")):
        return fill.text(health, where)
    return f"http://127.0.0.1:{port}/{health.lstrip('/')}"


def legacy_manage_command(
    legacy: LegacySection, settings: StackSettings, project_dir: Path, environ: Mapping[str, str]
) -> tuple[tuple[str, ...], dict[str, str], Path] | None:
    """The monolith's management command prefix, the environment it adds and its folder; None when the
    file has no ``legacy.manage``."""
    if not legacy.manage:
        return None
    fill = _Fill(settings, project_dir, settings.legacy_port)
    return (
        fill.argv(legacy.manage, "legacy.manage"),
        fill.env(legacy.env, environ, "legacy"),
        fill.path(legacy.cwd, "legacy.cwd"),
    )


def project_legacy_spec(
    legacy: LegacySection,
    settings: StackSettings,
    project_dir: Path,
    environ: Mapping[str, str],
    common: Mapping[str, str],
    stage: int,
) -> ProcessSpec | None:
    """The supervised monolith; None when ``strangler.toml`` gives only its URL."""
    if not legacy.command:
        return None
    port = settings.legacy_port
    fill = _Fill(settings, project_dir, port)
    setup = tuple(
        SetupStep(
            argv=fill.argv(step.command, f"legacy.setup[{index}]"),
            once_marker=fill.path(step.once, f"legacy.setup[{index}].once") if step.once else None,
            required=step.required,
        )
        for index, step in enumerate(legacy.setup)
    )
    return ProcessSpec(
        name="legacy",
        argv=fill.argv(legacy.command, "legacy.command"),
        env={**common, "STRANGLER_LEGACY_PORT": str(port), **fill.env(legacy.env, environ, "legacy")},
        cwd=fill.path(legacy.cwd, "legacy.cwd"),
        health_urls=(_health(legacy.health, port, fill, "legacy.health"),),
        setup=setup,
        port=port,
        url=f"http://127.0.0.1:{port}/",
        label=legacy.label,
        stage=stage,
        startup_timeout=legacy.startup_timeout or settings.startup_timeout,
        stop_grace=settings.stop_grace,
    )


def project_service_specs(
    project: ProjectFile,
    settings: StackSettings,
    project_dir: Path,
    environ: Mapping[str, str],
    common: Mapping[str, str],
    stage: int,
    no_control_socket: tuple[str, ...] = (),
) -> list[ProcessSpec]:
    """Each service of ``strangler.toml``; ``<NAME>_PORT`` in the environment moves a service's port."""
    return [
        _service_spec(service, settings, project_dir, environ, common, stage, no_control_socket)
        for service in project.services
    ]


def _service_spec(
    service: ServiceSection,
    settings: StackSettings,
    project_dir: Path,
    environ: Mapping[str, str],
    common: Mapping[str, str],
    stage: int,
    no_control_socket: tuple[str, ...],
) -> ProcessSpec:
    where = f"services.{service.name}"
    variable = f"{service.name.upper()}_PORT"
    port = int(environ[variable]) if variable in environ else service.port
    fill = _Fill(settings, project_dir, port)
    if service.command:
        argv = fill.argv(service.command, f"{where}.command")
    else:
        assert service.path is not None
        package = fill.path(service.path, f"{where}.path")
        module = (
            ".".join(package.relative_to(project_dir).parts) if package.is_relative_to(project_dir) else ""
        )
        if not module or not (package / "entrypoints" / "wsgi.py").is_file():
            raise ValueError(
                f"strangler.toml: {where}.path: {package} is not a service package under {project_dir}"
                " (it needs entrypoints/wsgi.py)"
            )
        conf = package / "gunicorn.conf.py"
        if conf.is_file():
            # The service's own gunicorn settings bind 127.0.0.1:$<NAME>_PORT (and may migrate on start).
            options: tuple[str, ...] = ("-c", str(conf))
        else:
            workers = str(service.workers)
            options = ("--bind", f"127.0.0.1:{port}", "--workers", workers, *no_control_socket)
        argv = (sys.executable, "-m", "gunicorn", *options, f"{module}.entrypoints.wsgi:app")
    return ProcessSpec(
        name=service.name,
        argv=argv,
        env={**common, variable: str(port), **fill.env(service.env, environ, where)},
        cwd=fill.path(service.cwd, f"{where}.cwd"),
        health_urls=(_health(service.health, port, fill, f"{where}.health"),),
        backoff=Backoff(),
        port=port,
        url=f"http://127.0.0.1:{port}/",
        label=f"{service.name} service, direct",
        stage=stage,
        startup_timeout=settings.startup_timeout,
        stop_grace=settings.stop_grace,
    )


def project_process_specs(
    project: ProjectFile,
    settings: StackSettings,
    project_dir: Path,
    environ: Mapping[str, str],
    common: Mapping[str, str],
) -> list[ProcessSpec]:
    """Each service's ``processes`` (its workers, e.g. saga recovery) as ``<service>-<name>``: the
    service's environment (``env`` and ``<NAME>_PORT``) plus the process's own ``env``; started after the
    services are healthy (their databases migrated), restarted when they fail, no port, no health check.
    """
    specs = []
    for service in project.services:
        variable = f"{service.name.upper()}_PORT"
        port = int(environ[variable]) if variable in environ else service.port
        fill = _Fill(settings, project_dir, port)
        for process in service.processes:
            where = f"services.{service.name}.processes.{process.name}"
            specs.append(
                ProcessSpec(
                    name=f"{service.name}-{process.name}",
                    argv=fill.argv(process.command, f"{where}.command"),
                    env={
                        **common,
                        variable: str(port),
                        **fill.env(service.env, environ, f"services.{service.name}"),
                        **fill.env(process.env, environ, where),
                    },
                    cwd=fill.path(service.cwd, f"services.{service.name}.cwd"),
                    backoff=Backoff(),
                    label=f"{service.name} service, {process.name} worker",
                    startup_timeout=settings.startup_timeout,
                    stop_grace=settings.stop_grace,
                )
            )
    return specs
