"""Entry point of the `strangler` command: each command group lives in its own module."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer

from migration_plan.cli import (
    apply_commands,
    auth_commands,
    drill_commands,
    export_commands,
    guards_commands,
    init_commands,
    inventory_commands,
    load_commands,
    plan_commands,
    project_commands,
    routes_commands,
    routes_history_commands,
    stack_commands,
    sync_commands,
)

__all__ = ["app", "main", "toolkit_version"]

app = typer.Typer(
    name="strangler",
    help="Migrate a legacy Django monolith to services one route at a time.",
    no_args_is_help=True,
    add_completion=False,
)


def toolkit_version() -> str:
    """The installed distribution's version."""
    try:
        return version("strangler-fig")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"strangler {toolkit_version()}")
        raise typer.Exit()


@app.callback()
def _global_options(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="State directory for every command (default: $STRANGLER_HOME, else .strangler next to "
            "the nearest strangler.toml upwards, else the checkout's .strangler).",
            show_default=False,
        ),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Migrate a legacy Django monolith to services one route at a time."""
    if home is not None:
        os.environ["STRANGLER_HOME"] = str(home.expanduser().absolute())


stack_commands.register(app)
auth_commands.register(app)
guards_commands.register(app)
apply_commands.register(app)
routes_commands.register(app)
routes_history_commands.register(app)
drill_commands.register(app)
plan_commands.register(app)
inventory_commands.register(app)
load_commands.register(app)
sync_commands.register(app)
export_commands.register(app)
project_commands.register(app)
init_commands.register(app)


def main() -> None:
    app()
