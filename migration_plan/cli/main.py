"""Entry point of the `strangler` command: each command group lives in its own module."""

from __future__ import annotations

import typer

from migration_plan.cli import (
    drill_commands,
    export_commands,
    init_commands,
    inventory_commands,
    load_commands,
    plan_commands,
    project_commands,
    routes_commands,
    stack_commands,
    sync_commands,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="strangler",
    help="Migrate a legacy Django monolith to services one route at a time.",
    no_args_is_help=True,
    add_completion=False,
)
stack_commands.register(app)
routes_commands.register(app)
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
