"""`strangler inventory`: every route of the monolith's URLconf, the plan stage claiming it, its traffic.

The URLconf comes from the monolith's ``urls_json`` command (strangler_django's, run as a subprocess
the way strangler.toml's ``legacy.manage``, ``cwd`` and ``env`` say) or from ``--urlconf FILE``; shares
come from the control plane's ``/api/v1/stats`` (a pattern a live rule claims) and
``/api/v1/stats/unmatched-paths`` (a pattern no live rule claims yet: the unmatched requests whose path
resolves to it). Unclaimed routes (no stage moves them off the monolith) are highlighted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from migration_plan.admin_client import AdminApiError, AdminClient
from migration_plan.cli.routes_commands import HomeOption, TokenOption, UrlOption
from migration_plan.home import find_home
from migration_plan.inventory import (
    Inventory,
    InventoryError,
    build_inventory,
    read_urlconf_file,
    run_urls_json,
)
from migration_plan.inventory.source import UrlPattern
from migration_plan.plan import PlanError, load_plan
from migration_plan.project import ProjectFileError
from migration_plan.project.context import current_project
from migration_plan.project.context import plan_path as resolve_plan_path
from migration_plan.project.overrides import settings_values

__all__ = ["print_inventory", "register"]


def print_inventory(inventory: Inventory, console: Console, *, wide: bool = False) -> None:
    window = f", traffic over the last {inventory.window_s} s" if inventory.window_s else ""
    table = Table(title=f"monolith routes against plan {inventory.plan}{window}")
    columns = ["pattern", "name", "methods", "stage (route)", "share", "status"]
    if wide:
        columns += ["requests", "share from", "view", "sample path"]
    for column in columns:
        # Long names wrap instead of being cut with an ellipsis.
        table.add_column(
            column, justify="right" if column in ("share", "requests") else "left", overflow="fold"
        )
    for row in inventory.rows:
        claims = "\n".join(
            f"{escape(c.stage)} ({escape(c.route)}"
            + (f" {','.join(c.methods)})" if c.methods != ("*",) else ")")
            for c in row.claims
        )
        share = "-" if row.share is None else f"{row.share:.1%}"
        style = "bold yellow" if row.unclaimed else "dim" if row.kept else ""
        status = f"[{style}]{row.status}[/]" if style else row.status
        cells = [
            escape(row.pattern.pattern),
            escape(row.pattern.name or "-"),
            ",".join(row.pattern.methods) if row.pattern.methods else "any",
            claims or "-",
            share,
            status,
        ]
        if wide:
            cells += [
                "-" if row.requests is None else str(row.requests),
                {"rule": "live rule", "paths": "unmatched paths"}.get(row.share_from or "", "-"),
                escape(row.pattern.view or "-"),
                escape(row.sample),
            ]
        table.add_row(*cells)
    console.print(table)
    _print_unmatched_note(inventory, console)
    unclaimed = inventory.unclaimed
    if unclaimed:
        names = ", ".join(escape(row.pattern.pattern) for row in unclaimed)
        console.print(f"[bold yellow]{len(unclaimed)} route(s) no stage migrates:[/] {names}")
    else:
        console.print("[green]every route is claimed by a stage or kept on legacy on purpose[/]")


def _print_unmatched_note(inventory: Inventory, console: Console) -> None:
    total = inventory.total_requests
    if total is None:
        return
    unmatched = inventory.unmatched_requests or 0
    part = f"{unmatched / total:.1%} of {total}" if total else "no requests yet"
    if inventory.unattributed_requests is None:
        if any(row.share is None for row in inventory.rows):
            console.print(
                "[dim]share -: no rule of the live table matches the pattern yet; its requests are among "
                f"the unmatched ones ({part}), not broken down by path (the control plane did not say)[/]"
            )
        return
    if not any(row.share_from == "paths" for row in inventory.rows):
        return
    console.print(
        f"[dim]shares of patterns no live rule claims: the unmatched requests ({part}) by path; "
        f"{inventory.unattributed_requests} given to no pattern[/]"
    )
    if inventory.unresolved_paths:
        paths = ", ".join(f"{escape(path)} ({n})" for path, n in inventory.unresolved_paths[:5])
        console.print(f"[dim]unmatched paths no pattern resolves: {paths}[/]")


def _run_urls_json(home: Path | None) -> list[UrlPattern]:
    """The monolith's routes from its ``urls_json`` command, run as strangler.toml says."""
    from migration_plan.toolbox.supervisor.project_specs import legacy_manage_command
    from migration_plan.toolbox.supervisor.settings import StackSettings

    project = current_project()
    if project is None:
        raise InventoryError(
            "no strangler.toml: pass --urlconf FILE, or describe the monolith in strangler.toml"
        )
    settings = StackSettings(**settings_values(project[0], project[1], os.environ))
    if home is not None:
        settings = settings.model_copy(update={"home": home.expanduser().absolute()})
    manage = legacy_manage_command(project[0].legacy, settings, project[1], os.environ)
    if manage is None:
        raise InventoryError(
            'strangler.toml has no legacy.manage (e.g. "{python} manage.py"): set it, or pass --urlconf FILE'
        )
    argv, env, cwd = manage
    return run_urls_json(manage=argv, env=env, cwd=cwd)


def inventory(
    plan: Annotated[
        Path | None,
        typer.Option("--plan", "-p", help="Plan file (default $STRANGLER_PLAN, else strangler.toml's plan)."),
    ] = None,
    urlconf: Annotated[
        Path | None,
        typer.Option("--urlconf", help="URLconf JSON file instead of running the monolith's command."),
    ] = None,
    window: Annotated[
        int, typer.Option("--window", min=1, max=3600, help="Seconds of traffic to share.")
    ] = 300,
    no_stats: Annotated[
        bool, typer.Option("--no-stats", help="Do not ask the control plane for traffic.")
    ] = False,
    fail_on_unclaimed: Annotated[
        bool, typer.Option("--fail-on-unclaimed", help="Exit 1 when a route is unclaimed.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the inventory as JSON.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table (default) or json.")] = "table",
    wide: Annotated[
        bool, typer.Option("--wide", help="Also the view and a sample path; never cut to the terminal.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """List every monolith route with the stage that claims it and its share of traffic."""
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    if output not in ("table", "json"):
        errors.print(f"[bold red]error:[/] --output {escape(output)}: choose table or json")
        raise typer.Exit(2)
    as_json = as_json or output == "json"
    try:
        the_plan = load_plan(resolve_plan_path(plan))
        patterns = read_urlconf_file(urlconf) if urlconf else _run_urls_json(find_home(home))
    except (PlanError, InventoryError, ProjectFileError) as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    figures = paths = None
    if not no_stats:
        try:
            with AdminClient.connect(url, token, home) as admin:
                figures = admin.request("GET", f"/stats?window={window}")["routes"]
                paths = admin.request("GET", f"/stats/unmatched-paths?window={window}")
        except AdminApiError as exc:
            what = "unmatched paths" if figures is not None else "traffic shares"
            errors.print(f"[yellow]warning:[/] no {what}: {escape(str(exc))}")
    result = build_inventory(
        patterns,
        the_plan,
        figures,
        window_s=window if figures is not None else None,
        unmatched_paths=paths,
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        # Piped (or --wide), the table takes the width its cells need: nothing is cut.
        width = None if sys.stdout.isatty() and not wide else 100_000
        print_inventory(result, Console(highlight=False, soft_wrap=True, width=width), wide=wide)
    if fail_on_unclaimed and result.unclaimed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("inventory")(inventory)
