"""`strangler routes list|add|flip|rollback|panic|history|diff|upstreams|register` over the admin API.

Credentials: ``--token`` / ``STRANGLER_TOKEN`` (a bearer token), else a session opened as ``admin``
with the password in ``$STRANGLER_HOME/secrets/admin_password``. The control plane's address is
``--url`` / ``STRANGLER_ADMIN_URL``, else http://127.0.0.1:$STRANGLER_ADMIN_PORT (8001).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from migration_plan.admin_client import AdminApiError as CliError
from migration_plan.admin_client import AdminClient
from migration_plan.cli.exit_codes import ExitCode, exit_code_for

__all__ = ["AdminClient", "OutputOption", "emit_json", "register", "routes_app", "run_admin"]

MODES = ("legacy", "shadow", "canary", "new")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

routes_app = typer.Typer(name="routes", help="Routes of the active table: list, flip, roll back, panic.")

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Control plane URL (default $STRANGLER_ADMIN_URL).")
]
TokenOption = Annotated[str | None, typer.Option("--token", help="Bearer token (default $STRANGLER_TOKEN).")]
HomeOption = Annotated[Path | None, typer.Option("--home", help="State directory (default $STRANGLER_HOME).")]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why: recorded in the audit log.")]
OutputOption = Annotated[
    str, typer.Option("--output", "-o", help="table (default) or json (stable keys, for scripts).")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
ExpectOption = Annotated[
    int | None, typer.Option("--expected-version", help="Refuse (409) unless this version is still active.")
]
MIRROR_HELP = "Shadow: mirror POST/PUT/PATCH/DELETE too, marked X-Strangler-Shadow: 1 (rolled back)"


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def run_admin(url: str | None, token: str | None, home: Path | None, action, *, timeout: float = 15.0) -> Any:
    """``action(admin)`` with a connected client; a failure is one line on stderr and its exit code."""
    try:
        admin = AdminClient.connect(url, token, home, timeout=timeout)
        try:
            return action(admin)
        finally:
            admin.close()
    except CliError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(exit_code_for(exc)) from None


_run = run_admin


def usage_error(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(ExitCode.USAGE)


def check_output(output: str) -> bool:
    """True for json; exits with the usage code for anything but table/json."""
    if output not in ("table", "json"):
        raise usage_error(f"--output {output}: choose table or json")
    return output == "json"


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def _figure(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:g}{unit}" if isinstance(value, float | int) else str(value)


def _rate(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _print_result(result: dict[str, Any]) -> None:
    console = _console()
    console.print(
        f"[green]active version {result['version']}[/] (was {result['previous_version']}, "
        f"generation {result['generation']}): {escape(result['diff']['summary'])}"
    )


def print_diff(diff: dict[str, Any]) -> None:
    console = _console()
    console.print(f"[bold]{escape(diff['summary'])}[/]")
    for line in diff.get("text", "").splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
        console.print(f"[{style}]{escape(line)}[/]")


@routes_app.command("list")
def list_routes(
    window: Annotated[int, typer.Option("--window", help="Seconds the live figures cover.")] = 10,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
    output: OutputOption = "table",
) -> None:
    """Every route of the active version with its mode and live figures, legacy and new side by side."""
    as_json = check_output(output)
    data = _run(url, token, home, lambda a: a.request("GET", f"/routes?window={window}"))
    if as_json:
        emit_json(data)
        return
    active = data["active"]
    table = Table(title=f"active version {active['version']} (generation {active['generation']})")
    for column in ("route", "match", "mode", "upstream", "req/s L|N", "5xx L|N", "p50 ms L|N", "p99 ms L|N"):
        table.add_column(column)
    table.add_column("parity")
    table.add_column("guard")
    for route in data["routes"]:
        legacy, new = route["legacy"], route["new"]
        match = route["match"]["path"] if route["match"] else "(unmatched)"
        mode = route["mode"] + (f" {route['weight']}%" if route["mode"] == "canary" else "")
        table.add_row(
            route["route"],
            escape(match),
            mode,
            route["upstream"] or "-",
            f"{_figure(legacy['rps'])} | {_figure(new['rps'])}",
            f"{_rate(legacy['error_rate'])} | {_rate(new['error_rate'])}",
            f"{_figure(legacy['p50_ms'])} | {_figure(new['p50_ms'])}",
            f"{_figure(legacy['p99_ms'])} | {_figure(new['p99_ms'])}",
            _rate(route["shadow"]["parity"]),
            (route.get("guard") or {}).get("status", "-"),
        )
    _console().print(table)


@routes_app.command("add")
def add_route(
    name: Annotated[str, typer.Argument(help="Route (rule) name.")],
    path: Annotated[str, typer.Option("--path", help="Path prefix (or exact path / pattern with --kind).")],
    reason: ReasonOption,
    kind: Annotated[str, typer.Option("--kind", help="prefix, exact or pattern.")] = "prefix",
    methods: Annotated[
        str | None,
        typer.Option("--methods", "-m", help="Only these methods, comma separated (GET,HEAD); default all."),
    ] = None,
    position: Annotated[
        int | None,
        typer.Option("--position", min=0, help="Its place in the table (0: first); default last."),
    ] = None,
    mirror_unsafe_methods: Annotated[
        bool, typer.Option("--mirror-unsafe-methods", help=f"{MIRROR_HELP}; default safe methods only.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
    expected_version: ExpectOption = None,
) -> None:
    """Add a route, served by legacy until it is flipped (`flip NAME canary --upstream U`).

    The first rule that matches a request takes it: a route that narrows an earlier one (its writes,
    say) goes before it with ``--position``."""
    match: dict[str, Any] = {"kind": kind, "path": path}
    if methods is not None:
        match["methods"] = parse_methods(methods)
    rule: dict[str, Any] = {"name": name, "match": match}
    if mirror_unsafe_methods:
        rule["action"] = {"shadow": {"mirror_unsafe_methods": True}}
    body = {"rule": rule, "reason": reason, "expected_version": expected_version}
    if position is not None:
        body["position"] = position
    _print_result(_run(url, token, home, lambda a: a.request("POST", "/routes", body)))


def parse_methods(text: str) -> list[str]:
    """``get, head`` -> ["GET", "HEAD"]; exits with the usage code on an unknown method."""
    chosen = [m.strip().upper() for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if not chosen or unknown:
        raise usage_error(f"--methods {text}: give a comma-separated list of {', '.join(METHODS)}")
    return sorted(set(chosen), key=METHODS.index)


def skipped_stages(current: str, wanted: str) -> list[str]:
    """The stages a forward flip from ``current`` to ``wanted`` jumps (legacy→new: shadow, canary)."""
    if current not in MODES or wanted not in MODES:
        return []
    start, end = MODES.index(current), MODES.index(wanted)
    return list(MODES[start + 1 : end]) if end > start + 1 else []


def confirm_or_exit(question: str, yes: bool) -> None:
    """Go on when ``yes``; ask on a terminal; otherwise stop with the usage exit code."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise usage_error(f"{question} — not a terminal to ask on: give --yes to go ahead")
    if not typer.confirm(question, default=False):
        raise typer.Exit(ExitCode.FAILED)


@routes_app.command("flip")
def flip(
    name: Annotated[str, typer.Argument(help="Route name.")],
    mode: Annotated[str, typer.Argument(help="legacy, shadow, canary or new.")],
    reason: ReasonOption,
    weight: Annotated[int | None, typer.Option("--weight", "-w", min=0, max=100, help="Canary %.")] = None,
    upstream: Annotated[str | None, typer.Option("--upstream", help="The new upstream.")] = None,
    mirror_unsafe_methods: Annotated[
        bool | None,
        typer.Option(
            "--mirror-unsafe-methods/--no-mirror-unsafe-methods",
            help=f"{MIRROR_HELP}, or not; default: as the route has it.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, publish nothing.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
    expected_version: ExpectOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Flip even if the old owner's sync was not applied in time.")
    ] = False,
    drain_timeout: Annotated[
        float,
        typer.Option("--drain-timeout", min=0, max=60, help="Seconds to wait for the old owner's sync."),
    ] = 10.0,
    yes: YesOption = False,
) -> None:
    """Send a route to legacy, shadow, canary (with --weight) or new.

    ``--mirror-unsafe-methods`` makes a shadow mirror the route's writes too (the service gets them
    marked ``X-Strangler-Shadow: 1`` and rolls them back); the setting stays with the route until changed.

    A flip that skips a stage (legacy to canary or new, shadow to new) asks first, or needs --yes.
    A flip that moves the route's writes to the other side is a handover: writes are fenced (503 +
    Retry-After) until the old owner's sync has been applied (``--drain-timeout``), then the flip is
    refused (409 sync_not_drained) unless ``--force``, which is audited with the pending events.
    """
    if mode not in MODES:
        raise usage_error(f"mode must be one of {', '.join(MODES)}")
    if not dry_run:
        current = _run(url, token, home, lambda a: a.request("GET", f"/routes/{name}"))["rule"]
        skipped = skipped_stages(current["action"]["mode"], mode)
        if skipped:
            confirm_or_exit(
                f"{name} goes from {current['action']['mode']} to {mode}, skipping {' and '.join(skipped)}",
                yes,
            )
    body: dict[str, Any] = {
        "mode": mode,
        "weight": weight,
        "upstream": upstream,
        "reason": reason,
        "expected_version": expected_version,
        "dry_run": dry_run,
    }
    if mirror_unsafe_methods is not None:
        body["mirror_unsafe_methods"] = mirror_unsafe_methods
    if not dry_run:
        body.update(force=force, drain_timeout_s=drain_timeout)
    result = _run(
        url,
        token,
        home,
        lambda a: a.request("POST", f"/routes/{name}/flip", body),
        timeout=15.0 + drain_timeout,
    )
    if dry_run:
        print_diff(result["diff"])
        for problem in result["problems"]:
            _console().print(f"[red]would be refused:[/] {escape(problem)}")
        return
    _print_result(result)


@routes_app.command("rollback")
def rollback(
    reason: ReasonOption,
    name: Annotated[str | None, typer.Argument(help="Route name; omit to roll the whole table back.")] = None,
    to: Annotated[str, typer.Option("--to", help="previous or legacy.")] = "previous",
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
    expected_version: ExpectOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Roll back even if the old owner's sync was not applied in time.")
    ] = False,
    drain_timeout: Annotated[
        float,
        typer.Option("--drain-timeout", min=0, max=60, help="Seconds to wait for the reverse sync to drain."),
    ] = 10.0,
) -> None:
    """Return one route (or the whole table) to the previous version or to legacy.

    A rollback that moves writes between sides is a handover: writes are fenced while the old owner's
    sync is applied (``--drain-timeout``), then it is refused (409 sync_not_drained) unless ``--force``.
    The whole table to legacy is a panic: it never waits, and completes the handover in the background.
    """
    if to not in ("previous", "legacy"):
        raise usage_error("--to must be 'previous' or 'legacy'")
    body: dict[str, Any] = {"reason": reason, "expected_version": expected_version}
    if name is None and to == "legacy":
        path = "/panic"
        body.pop("expected_version")
    elif name is None:
        path = "/rollback"
        body.update(force=force, drain_timeout_s=drain_timeout)
    else:
        path, body["to"] = f"/routes/{name}/rollback", to
        body.update(force=force, drain_timeout_s=drain_timeout)
    result = _run(url, token, home, lambda a: a.request("POST", path, body), timeout=15.0 + drain_timeout)
    _print_result(result)


@routes_app.command("panic")
def panic(
    reason: ReasonOption,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Every route to legacy, now."""
    _print_result(_run(url, token, home, lambda a: a.request("POST", "/panic", {"reason": reason})))


@routes_app.command("upstreams")
def upstreams(
    url: UrlOption = None, token: TokenOption = None, home: HomeOption = None, output: OutputOption = "table"
) -> None:
    """The upstream registry, each with its health (GET <url>/healthz)."""
    as_json = check_output(output)
    data = _run(url, token, home, lambda a: a.request("GET", "/upstreams/health"))
    if as_json:
        emit_json(data)
        return
    table = Table(title="upstreams")
    for column in ("name", "url", "health", "status", "latency ms"):
        table.add_column(column)
    for item in data["upstreams"]:
        health = "[green]up[/]" if item["healthy"] else f"[red]down[/] {escape(item.get('error') or '')}"
        table.add_row(
            item["name"], item["url"], health, _figure(item["status"]), _figure(item.get("latency_ms"))
        )
    _console().print(table)


@routes_app.command("register")
def register_upstream(
    name: Annotated[str, typer.Argument(help="Upstream name, e.g. catalog.")],
    address: Annotated[str, typer.Argument(help="http://host:port")],
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Register (or move) an upstream that routes may be flipped to (role admin)."""
    saved = _run(url, token, home, lambda a: a.request("PUT", f"/upstreams/{name}", {"url": address}))
    _console().print(f"[green]upstream {escape(saved['name'])}[/] at {escape(saved['url'])}")


def register(app: typer.Typer) -> None:
    app.add_typer(routes_app, name="routes")
