"""`strangler up`, `ps`, `start`, `stop`, `restart`: run the stack and talk to its supervisor."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from migration_plan.admin_client import AdminApiError, AdminClient
from migration_plan.cli.fleet_view import fleet_table
from migration_plan.home import find_home
from migration_plan.project import ProjectFile, ProjectFileError
from migration_plan.project.context import current_project
from migration_plan.project.overrides import settings_values
from migration_plan.toolbox.supervisor.control import (
    ControlError,
    ControlSocketError,
    NoSupervisorError,
    SupervisorAlreadyRunning,
    send_command,
)
from migration_plan.toolbox.supervisor.render import print_ready, ps_table
from migration_plan.toolbox.supervisor.settings import StackSettings
from strangler_proxy.secrets import SecretError, keep_private

__all__ = ["register"]

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home", help="State directory (default: $STRANGLER_HOME, else ./.strangler).", show_default=False
    ),
]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="The project file (default: $STRANGLER_CONFIG, else ./strangler.toml when it exists).",
        show_default=False,
    ),
]


def _project(config: Path | None) -> tuple[ProjectFile, Path] | None:
    """``strangler.toml`` and its folder, or None when there is none to read."""
    try:
        return current_project(config)
    except ProjectFileError as exc:
        raise _fail(str(exc)) from exc


def _settings(home: Path | None, project: tuple[ProjectFile, Path] | None = None) -> StackSettings:
    values = settings_values(project[0], project[1], os.environ) if project is not None else {}
    try:
        settings = StackSettings(**values)
    except ValidationError as exc:
        raise _fail(f"invalid environment: {exc}") from exc
    if home is None and ("STRANGLER_HOME" in os.environ or "STRANGLER_HOME" in values):
        return settings  # $STRANGLER_HOME, else the project file's home
    # --home, else .strangler next to the nearest strangler.toml (or the checkout's)
    return settings.model_copy(update={"home": find_home(home)})


def up(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this process (repeatable).", show_default=False),
    ] = None,
    home: HomeOption = None,
    config: ConfigOption = None,
    procfile: Annotated[
        Path | None,
        typer.Option(
            "--procfile",
            help="Run the processes of this TOML/JSON file instead of the stack (superseded by "
            "strangler.toml: `strangler project convert FILE` writes one).",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="The front door: dataplane (the Python data plane, default) or haproxy (HAProxy fed the "
            "route table; needs Debian's haproxy). Default: $STRANGLER_ENGINE, else dataplane.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the whole stack on 127.0.0.1 and keep it running until Ctrl-C."""
    # Imported here: `strangler ps` and friends should not pay for aiohttp's import.
    from migration_plan.toolbox.supervisor.output import LogSink
    from migration_plan.toolbox.supervisor.procfile import ProcfileError, load_procfile
    from migration_plan.toolbox.supervisor.stack import Stack, build_stack
    from migration_plan.toolbox.supervisor.supervisor import Supervisor, run_supervisor

    run_started = time.time()
    project = None if procfile is not None else _project(config)
    settings = _settings(home, project)
    if engine is not None:
        if engine not in ("dataplane", "haproxy"):
            raise _fail(f"--engine {engine}: choose dataplane or haproxy")
        settings = settings.model_copy(update={"engine": engine})
    try:
        if procfile is not None:
            stack = Stack(
                specs=tuple(load_procfile(procfile)),
                warnings=(
                    f"--procfile runs only the processes of {procfile}, without the planes and sync "
                    "workers; `strangler project convert` turns it into a strangler.toml",
                ),
            )
        elif project is not None:
            stack = build_stack(settings, project=project[0], project_dir=project[1])
        else:
            stack = build_stack(settings)
        stack = stack.only(only or [])
    except (ProcfileError, ValueError, SecretError) as exc:
        raise _fail(str(exc)) from exc
    console = Console()
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sink = LogSink(sys.stdout, [spec.name for spec in stack.specs], colour=colour)
    for warning in stack.warnings:
        sink.warning(warning)
    # The store, the logs and the secrets under STRANGLER_HOME are the owner's only (0700/0600); the
    # processes started below inherit the umask.
    keep_private(settings.home)
    supervisor = Supervisor(stack.specs, home=settings.home, sink=sink)

    def on_ready() -> None:
        print_ready(console, stack.specs, stack.admin_password_file, run_started=run_started)

    try:
        code = run_supervisor(supervisor, on_ready)
    except (SupervisorAlreadyRunning, ControlSocketError) as exc:
        raise _fail(str(exc)) from exc
    raise typer.Exit(code)


def _send(home: Path | None, request: dict[str, Any], config: Path | None = None) -> dict[str, Any]:
    try:
        return send_command(_settings(home, _project(config)).socket_path, request)
    except ControlError as exc:
        failure = _fail(str(exc))
        # docs/cli.md: 3 when no supervisor answers (none running, or unreachable); a refusal stays 1.
        failure.exit_code = 3 if isinstance(exc, NoSupervisorError) else 1
        raise failure from exc


def ps(
    home: HomeOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the processes as JSON.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table (default) or json.")] = "table",
    fleet: Annotated[
        bool,
        typer.Option(
            "--fleet",
            help="Every data plane and worker the control plane knows (any host), with their versions.",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Control plane URL, with --fleet (default $STRANGLER_ADMIN_URL)."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Bearer token (default $STRANGLER_TOKEN).")
    ] = None,
) -> None:
    """Show the supervised processes: pid, state, restarts, uptime, health, port; with ``--fleet``, the
    data planes of every host as the control plane sees them."""
    if output not in ("table", "json"):
        Console(stderr=True).print(f"[bold red]error:[/] --output {escape(output)}: choose table or json")
        raise typer.Exit(2)
    as_json = as_json or output == "json"
    if fleet:
        _ps_fleet(url, token, home, as_json=as_json)
        return
    processes = _send(home, {"command": "ps"}, config)["processes"]
    if as_json:
        typer.echo(json.dumps(processes, indent=2))
    else:
        Console().print(ps_table(processes))


def _ps_fleet(url: str | None, token: str | None, home: Path | None, *, as_json: bool) -> None:
    try:
        admin = AdminClient.connect(url, token, home)
        try:
            answer = admin.request("GET", "/workers")
        finally:
            admin.close()
    except AdminApiError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    Console(highlight=False, soft_wrap=True).print(fleet_table(answer))


def _command(command: str, done: str) -> Any:
    def run(
        name: Annotated[str, typer.Argument(help="Process name, as `strangler ps` shows it.")],
        home: HomeOption = None,
        config: ConfigOption = None,
    ) -> None:
        answer = _send(home, {"command": command, "name": name}, config)
        process = answer["process"]
        if answer.get("changed", True):
            pid = f" (pid {process['pid']})" if process["pid"] else ""
            typer.echo(f"{done} {name}{pid}")
        else:
            typer.echo(f"{name} was already {'running' if command == 'start' else 'stopped'}")

    run.__doc__ = f"{command.capitalize()} one process of the running supervisor."
    return run


def register(app: typer.Typer) -> None:
    """Add the stack commands to the `strangler` CLI."""
    app.command("up")(up)
    app.command("ps")(ps)
    app.command("start")(_command("start", "started"))
    app.command("stop")(_command("stop", "stopped"))
    app.command("restart")(_command("restart", "restarted"))
