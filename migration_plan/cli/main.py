"""Entry point of the `strangler` command: each command group lives in its own module."""

from __future__ import annotations

import typer

from migration_plan.cli import routes_commands, stack_commands

__all__ = ["app", "main"]

app = typer.Typer(
    name="strangler",
    help="Migrate a legacy Django monolith to services one route at a time.",
    no_args_is_help=True,
    add_completion=False,
)
stack_commands.register(app)
routes_commands.register(app)


def main() -> None:
    app()
