"""`strangler init`: write strangler.toml for the Django project here, check its monolith starts and
answers, list its routes, and say what comes next."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from migration_plan.project import ProjectFileError, parse_project
from migration_plan.project.init import project_file_text
from migration_plan.project.introspect import InitError, find_manage, introspect, settings_module_of
from migration_plan.project.loader import PROJECT_FILE

__all__ = ["register"]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _answers(url: str, process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """None once ``url`` answers 2xx; else why not (the process exited, or the time ran out)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"the monolith exited with {process.returncode} before answering"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return None
                last = f"status {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"status {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    return f"{url} did not answer 2xx within {timeout:.0f} s (last: {last})"


def _check_starts(directory: Path, text: str, timeout: float) -> str | None:
    """Start the monolith as the file says, wait for its health URL, stop it; None when it answered."""
    from migration_plan.supervisor.project_specs import project_legacy_spec
    from migration_plan.supervisor.settings import StackSettings

    project = parse_project(text)
    settings = StackSettings(
        STRANGLER_HOME=directory / ".strangler", STRANGLER_LEGACY_PORT=project.legacy.port
    )
    spec = project_legacy_spec(project.legacy, settings, directory, os.environ, {}, 0)
    assert spec is not None
    process = subprocess.Popen(
        spec.argv,
        cwd=spec.cwd,
        env={**os.environ, **spec.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        return _answers(spec.health_urls[0], process, timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def init(
    manage: Annotated[
        Path | None, typer.Option("--manage", help="The project's manage.py (default: here or above).")
    ] = None,
    settings: Annotated[
        str | None,
        typer.Option(
            "--settings", help="The settings module (default: the one manage.py sets).", show_default=False
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The monolith's port.")] = 8100,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing strangler.toml.")] = False,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Start the monolith once and wait for its health URL.")
    ] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the check waits.")] = 60.0,
) -> None:
    """Write strangler.toml for the Django project here (manage.py, settings, WSGI app, health check)."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        manage_path = (manage or find_manage(Path.cwd())).resolve()
        project = introspect(manage_path, settings or settings_module_of(manage_path))
    except InitError as exc:
        raise _fail(str(exc)) from exc
    target = project.directory / PROJECT_FILE
    text = project_file_text(project, port=port)
    if target.exists() and not force:
        console.print(f"{target} exists: kept as it is (pass --force to write it again)")
        text = target.read_text(encoding="utf-8")
    else:
        target.write_text(text, encoding="utf-8")
        console.print(f"wrote {target}")
    if check:
        try:
            problem = _check_starts(project.directory, text, timeout)
        except (ProjectFileError, ValueError) as exc:
            raise _fail(str(exc)) from exc
        if problem:
            raise _fail(
                f"the monolith does not answer: {problem}; fix strangler.toml's [legacy] and run init again"
            )
        console.print("[green]the monolith starts and answers its health check[/]")
    console.print(f"\n{len(project.routes)} route(s) besides /admin/:")
    for route in project.routes:
        methods = ",".join(route.get("methods") or ["*"])
        console.print(f"  {escape(route['pattern'])}  [dim]{escape(methods)}  {escape(route['view'])}[/]")
    console.print("\nNext:")
    step = 1
    if not project.installed:
        console.print(
            f'  {step}. add "strangler_django" to INSTALLED_APPS and'
            ' path("", include("strangler_django.urls"))'
            " to the root URLconf, set STRANGLER_INTERNAL_TOKEN, run migrate (health can then be /readyz)"
        )
        step += 1
    console.print(
        f"  {step}. strangler up          # the monolith behind the data plane on :8000, admin on :8001"
    )
    console.print(f"  {step + 1}. strangler inventory   # the routes against your plan, with their traffic")
    console.print(f"  {step + 2}. strangler new-service NAME --route /api/things   # shadow, canary, new")


def new_service(
    name: Annotated[str, typer.Argument(help="The service's package name (lowercase, e.g. things).")],
    route: Annotated[str, typer.Option("--route", help="The route it will take over, e.g. /api/things.")],
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Default: above the file's services.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Default: ./strangler.toml.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write over an existing service folder.")] = False,
) -> None:
    """Scaffold a Flask service on the service kit; register it in strangler.toml (route on legacy)."""
    from migration_plan.project.context import current_project
    from migration_plan.project.register_service import (
        add_import_contracts,
        add_service_table,
        next_service_port,
    )
    from migration_plan.project.scaffold_service import ScaffoldError, scaffold_service

    try:
        found = current_project(config)
    except ProjectFileError as exc:
        raise _fail(str(exc)) from exc
    if found is None:
        raise _fail("no strangler.toml: run `strangler init` first (or pass --config)")
    project, root = found
    chosen = port or next_service_port(project)
    try:
        made = scaffold_service(root, name, route, chosen, force=force)
        add_service_table(root / PROJECT_FILE if config is None else config, name, chosen)
    except (ScaffoldError, ProjectFileError) as exc:
        raise _fail(str(exc)) from exc
    contracts = root / ".importlinter"
    if contracts.is_file():
        add_import_contracts(contracts, name)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"wrote {made.service_dir} and {made.test_file.parent} ({len(made.written)} files)")
    console.print(f"registered {name} on port {chosen} in strangler.toml (restart `strangler up` to run it)")
    console.print(
        f"the route stays on legacy; when the service is ready:\n"
        f'  strangler routes add {name} --path {route} -r "{name}: add the route, still on legacy"\n'
        f'  strangler routes flip {name} shadow --upstream {name} -r "{name}: shadow"'
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("new-service")(new_service)
