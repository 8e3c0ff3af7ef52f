"""`strangler init`: write strangler.toml for the Django project here, check its monolith starts and
answers, list its routes, and say what comes next."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from migration_plan.project import ProjectFileError
from migration_plan.project.init import project_file_text
from migration_plan.project.introspect import InitError, find_manage, introspect, settings_module_of
from migration_plan.project.loader import PROJECT_FILE

__all__ = ["register"]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


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
        bool,
        typer.Option(
            "--check/--no-check",
            help="Run the setup steps, start the monolith behind a data plane, GET its health through it.",
        ),
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
        from migration_plan.cli.init_check import check_through_dataplane

        console.print("checking: the setup steps, the monolith, a control plane and a data plane...")
        try:
            result = check_through_dataplane(project.directory, text, timeout)
        except (ProjectFileError, ValueError) as exc:
            raise _fail(str(exc)) from exc
        if result.problem:
            Console(stderr=True, highlight=False, soft_wrap=True).print(escape(result.log[-4000:]))
            raise _fail(
                f"the monolith does not answer: {result.problem}; fix strangler.toml's [legacy] and run"
                " init again"
            )
        console.print(
            f"[green]the setup steps ran, the monolith started and its health path answered {result.status}"
            " through the data plane[/]"
        )
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
