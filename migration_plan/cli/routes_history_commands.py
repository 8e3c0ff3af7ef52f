"""`strangler routes history|diff`: the route table's versions, and what changed between two of them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from migration_plan.cli.routes_commands import (
    HomeOption,
    OutputOption,
    TokenOption,
    UrlOption,
    _console,
    check_output,
    emit_json,
    print_diff,
    routes_app,
    run_admin,
)

__all__ = ["register"]

_run = run_admin


def history(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many versions.")] = 20,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
    output: OutputOption = "table",
) -> None:
    """Every version, newest first."""
    as_json = check_output(output)
    data = _run(url, token, home, lambda a: a.request("GET", f"/versions?limit={limit}"))
    if as_json:
        emit_json(data)
        return
    table = Table(title="route-table versions")
    for column in ("version", "", "created", "author", "rules", "reason"):
        table.add_column(column)
    for version in data["versions"]:
        table.add_row(
            str(version["version"]),
            "[green]active[/]" if version.get("active") else "",
            version["created_at"][:19].replace("T", " "),
            escape(version["author"]),
            str(version["rules"]),
            escape(version["reason"]),
        )
    _console().print(table)


def diff(
    before: Annotated[int, typer.Argument(help="Older version.")],
    after: Annotated[int, typer.Argument(help="Newer version.")],
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """What changed between two versions."""
    print_diff(_run(url, token, home, lambda a: a.request("GET", f"/diff?from={before}&to={after}")))


def register(app: typer.Typer) -> None:
    """Add `routes history` and `routes diff` to the routes group (``app`` is the top-level CLI, unused)."""
    routes_app.command("history")(history)
    routes_app.command("diff")(diff)
