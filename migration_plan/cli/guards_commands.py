"""`strangler guards list|set|reset`: each route's automatic-rollback guard, its state and settings.

``set ROUTE key=value...`` changes some settings and keeps the others; ``reset ROUTE`` returns a route
to the defaults, enabled. Both are audited as ``guard.configure`` (role admin).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from migration_plan.cli.exit_codes import ExitCode
from migration_plan.cli.routes_commands import (
    HomeOption,
    OutputOption,
    TokenOption,
    UrlOption,
    check_output,
    emit_json,
    run_admin,
    usage_error,
)

__all__ = ["guards_app", "parse_assignments", "register"]

guards_app = typer.Typer(
    name="guards", help="Automatic-rollback guards: list, set, reset.", no_args_is_help=True
)


def _guard(data: dict[str, Any], route: str) -> dict[str, Any]:
    for guard in data["guards"]:
        if guard["route"] == route:
            return guard
    Console(stderr=True, highlight=False).print(
        f"[bold red]error:[/] route {escape(route)!r} is not in the active version {data['version']}"
    )
    raise typer.Exit(ExitCode.NOT_FOUND)


def parse_assignments(pairs: list[str], known: dict[str, Any]) -> dict[str, Any]:
    """``["failing_windows=3", "max_error_rate=0.02"]`` typed after the current values' types."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise usage_error(f"{pair!r}: give key=value with a key among {', '.join(sorted(known))}")
        try:
            result[key] = int(value) if isinstance(known[key], int) else float(value)
        except ValueError:
            raise usage_error(f"{pair!r}: {key} takes a number") from None
    return result


@guards_app.command("list")
def list_guards(
    url: UrlOption = None, token: TokenOption = None, home: HomeOption = None, output: OutputOption = "table"
) -> None:
    """Every route's guard: state, consecutive failing windows and settings."""
    as_json = check_output(output)
    data = run_admin(url, token, home, lambda a: a.request("GET", "/guards"))
    if as_json:
        emit_json(data)
        return
    table = Table(title=f"guards of active version {data['version']}")
    for column in ("route", "enabled", "status", "failing", "settings"):
        table.add_column(column)
    for guard in data["guards"]:
        settings = " ".join(f"{k}={v:g}" for k, v in sorted(guard["settings"].items()))
        table.add_row(
            escape(guard["route"]),
            "yes" if guard["enabled"] else "[red]no[/]",
            guard["status"],
            f"{guard.get('consecutive_failures', 0)}/{guard['settings']['failing_windows']}",
            escape(settings),
        )
    Console(highlight=False, soft_wrap=True).print(table)


@guards_app.command("set")
def set_guard(
    route: Annotated[str, typer.Argument(help="Route name.")],
    settings: Annotated[
        list[str] | None, typer.Argument(help="key=value, e.g. failing_windows=3 max_error_rate=0.02")
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Turn the guard on or off.", show_default=False)
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Change some of a route's guard settings (the others are kept)."""

    def change(admin: Any) -> dict[str, Any]:
        current = _guard(admin.request("GET", "/guards"), route)
        merged = {**current["settings"], **parse_assignments(settings or [], current["settings"])}
        body = {"enabled": current["enabled"] if enabled is None else enabled, "settings": merged}
        return admin.request("PUT", f"/guards/{route}", body)

    saved = run_admin(url, token, home, change)
    _print_saved(saved)


@guards_app.command("reset")
def reset_guard(
    route: Annotated[str, typer.Argument(help="Route name.")],
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Return a route's guard to the default settings, enabled."""

    def change(admin: Any) -> dict[str, Any]:
        _guard(admin.request("GET", "/guards"), route)
        return admin.request("PUT", f"/guards/{route}", {"enabled": True, "settings": {}})

    _print_saved(run_admin(url, token, home, change))


def _print_saved(saved: dict[str, Any]) -> None:
    settings = " ".join(f"{k}={v:g}" for k, v in sorted(saved["settings"].items()))
    state = "enabled" if saved["enabled"] else "disabled"
    Console(highlight=False, soft_wrap=True).print(
        f"[green]guard of {escape(saved['route'])}[/] {state}: {escape(settings)}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(guards_app, name="guards")
