"""`strangler project check` and `strangler project convert`: the project file, strangler.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from migration_plan.project import ProjectFileError, find_project_file, load_project
from migration_plan.toolbox.supervisor.procfile import ProcfileError

__all__ = ["register"]

project_app = typer.Typer(help="The project file, strangler.toml.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@project_app.command("check")
def check(
    config: Annotated[Path | None, typer.Option("--config", help="Default: ./strangler.toml.")] = None,
) -> None:
    """Validate strangler.toml; every error names its line and key."""
    path = find_project_file(config)
    if path is None:
        raise _fail("no strangler.toml here (pass --config FILE)")
    try:
        project = load_project(path)
    except ProjectFileError as exc:
        raise _fail(str(exc)) from exc
    legacy = project.legacy.url or f"command on port {project.legacy.port}"
    services = ", ".join(service.name for service in project.services) or "none"
    typer.echo(f"{path}: ok (legacy: {legacy}; services: {services})")


@project_app.command("convert")
def convert(
    procfile: Annotated[
        Path, typer.Argument(help="The procfile (TOML or JSON) of `strangler up --procfile`.")
    ],
    legacy: Annotated[
        str | None,
        typer.Option("--legacy", help="The monolith's process (default: 'legacy', else the first)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: print).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --output if it exists.")] = False,
) -> None:
    """Turn a procfile into a strangler.toml (one process is the monolith, the others services)."""
    from migration_plan.project.convert import procfile_to_project

    try:
        text = procfile_to_project(procfile, legacy=legacy)
    except (ProcfileError, ProjectFileError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    if output is None:
        typer.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise _fail(f"{output} exists: pass --force to overwrite it")
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(project_app, name="project")
