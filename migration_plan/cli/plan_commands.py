"""`strangler plan status|advance|rollback`: the migration plan (plans/*.yaml) driven over the admin API.

``advance`` evaluates the next step's gates, shows the route-table diff, and publishes with the plan step
as the audit reason; it exits 1 when a gate fails (``--force`` publishes anyway, and the reason names the
gates it went past). ``--dry-run`` shows the gates and the diff and publishes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from migration_plan.admin_client import AdminApiError, AdminClient
from migration_plan.cli.exit_codes import exit_code_for
from migration_plan.cli.routes_commands import HomeOption, TokenOption, UrlOption
from migration_plan.plan import (
    GateResult,
    PlanEngine,
    PlanError,
    StepChange,
    load_gate_runner,
    load_plan,
    sync_lag_from_command,
)
from migration_plan.project import ProjectFileError
from migration_plan.project.context import plan_path as resolve_plan_path
from migration_plan.project.locustfile import current_locustfile

__all__ = ["register"]

plan_app = typer.Typer(
    name="plan", help="The staged migration plan: status, advance one step, roll back one."
)

PlanOption = Annotated[
    Path | None,
    typer.Option("--plan", "-p", help="Plan file (default $STRANGLER_PLAN, else strangler.toml's plan)."),
]
StageOption = Annotated[
    str | None, typer.Option("--stage", "-s", help="Stage name (default: chosen by the plan).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON (same as -o json).")]
OutputOption = Annotated[str, typer.Option("--output", "-o", help="table (default) or json.")]
FrontDoorOption = Annotated[
    str | None,
    typer.Option(
        "--front-door", help="Proxy URL for load gates (default http://127.0.0.1:$STRANGLER_DATAPLANE_PORT)."
    ),
]
FullDiffOption = Annotated[bool, typer.Option("--full-diff", help="Print the whole route-table diff.")]
ReportsOption = Annotated[Path, typer.Option("--reports", help="Folder for load-gate reports.")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def _engine_run(
    plan_path: Path | None,
    url: str | None,
    token: str | None,
    home: Path | None,
    action: Callable[[PlanEngine], Any],
    *,
    front_door: str | None = None,
    reports: Path = Path("reports/load"),
) -> Any:
    try:
        plan = load_plan(resolve_plan_path(plan_path))
        door = front_door or f"http://127.0.0.1:{os.environ.get('STRANGLER_DATAPLANE_PORT', '8000')}"
        with AdminClient.connect(url, token, home) as admin:
            engine = PlanEngine(
                plan,
                admin,
                run_load=load_gate_runner(door, reports, lambda: current_locustfile(None)),
                sync_lag=sync_lag_from_command(),
            )
            return action(engine)
    except (PlanError, ProjectFileError) as exc:
        raise _fail(str(exc)) from None
    except AdminApiError as exc:
        raise _fail(str(exc), exit_code_for(exc)) from None


def _gate_text(gate: GateResult) -> str:
    mark = "[dim]-[/]" if gate.skipped else "[green]✓[/]" if gate.passed else "[red]✗[/]"
    return f"{mark} {gate.gate}: {escape(gate.detail)}"


def _ladder(steps: list[str], index: int) -> str:
    return " ".join(f"[green]{s}[/]" if i <= index else f"[dim]{s}[/]" for i, s in enumerate(steps))


@plan_app.command("status")
def status(
    plan: PlanOption = None,
    as_json: JsonOption = False,
    output: OutputOption = "table",
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Each stage's step, each route's live mode next to its plan step, and the next step's gates."""
    as_json = _wants_json(as_json, output)
    result = _engine_run(plan, url, token, home, lambda engine: engine.status())
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"plan {result.plan} on route-table version {result.version}", show_lines=True)
    for column in ("stage", "progress", "routes", "next step gates"):
        table.add_column(column)
    for stage in result.stages:
        data = stage.to_dict()
        routes = "\n".join(_route_line(r) for r in data["routes"])
        if data["complete"]:
            gates = "[green]complete[/]"
        else:
            gates = f"[bold]next: {data['next']}[/]\n" + (
                "\n".join(_gate_text(g) for g in stage.gates) or "no gates"
            )
        table.add_row(
            escape(data["stage"]), f"{data['step']}\n{_ladder(data['steps'], data['index'])}", routes, gates
        )
    _console().print(table)


def _wants_json(as_json: bool, output: str) -> bool:
    if output not in ("table", "json"):
        raise _fail(f"--output {output}: choose table or json", 2)
    return as_json or output == "json"


def _route_line(route: dict[str, Any]) -> str:
    """``name: live mode (plan: step)``, with what does not agree with the plan."""
    line = f"{escape(route['route'])}: {route['state']}"
    if route["off_plan"]:
        line += " [yellow](off plan: no step is this)[/]"
    elif route["step"] != route["state"]:
        line += f" [dim](plan: {route['step']})[/]"
    if route.get("match_differs"):
        line += " [yellow](match differs from the plan: plan adopt)[/]"
    return line


def _print_change(change: StepChange, *, full_diff: bool) -> None:
    console = _console()
    console.print(f"[bold]stage {escape(change.stage)}: {change.before} -> {change.after}[/]")
    for gate in change.gates:
        console.print("  " + _gate_text(gate))
    diff = change.diff
    if diff:
        console.print(f"route-table diff: [bold]{escape(str(diff.get('summary', '')))}[/]")
    for line in change.changes:
        console.print(f"  [cyan]{escape(line)}[/]")
    if diff and full_diff:
        for line in str(diff.get("text", "")).splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"[{style}]{escape(line)}[/]")
    for note in change.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for problem in change.problems:
        console.print(f"[red]refused by the control plane:[/] {escape(problem)}")
    if change.published:
        console.print(
            f"[green]published version {change.published['version']}[/] "
            f"(was {change.published['previous_version']}): {escape(change.reason)}"
        )
    elif change.dry_run:
        console.print("[yellow]dry run: nothing published[/]")
    elif change.blocked:
        failing = ", ".join(g.gate for g in change.failing_gates)
        console.print(f"[red]not published: gates failing ({failing}); --force to go past them (audited)[/]")


def _finish(change: StepChange, as_json: bool, full_diff: bool) -> None:
    if as_json:
        typer.echo(json.dumps(change.to_dict(), indent=2))
    else:
        _print_change(change, full_diff=full_diff)
    if change.problems or change.blocked:
        raise typer.Exit(1)


@plan_app.command("advance")
def advance(
    stage: StageOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Gates and diff only; publish nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Publish even if gates fail (audited).")] = False,
    allow_backwards: Annotated[
        bool,
        typer.Option(
            "--allow-backwards", help="Move routes already past the step back to it (default: they stay)."
        ),
    ] = False,
    plan: PlanOption = None,
    front_door: FrontDoorOption = None,
    reports: ReportsOption = Path("reports/load"),
    full_diff: FullDiffOption = False,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """One step up for a stage (default: the first unfinished one), if its gates pass."""
    change = _engine_run(
        plan,
        url,
        token,
        home,
        lambda engine: engine.advance(stage, dry_run=dry_run, force=force, allow_backwards=allow_backwards),
        front_door=front_door,
        reports=reports,
    )
    _finish(change, as_json, full_diff)


@plan_app.command("rollback")
def rollback(
    stage: StageOption = None,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why: added to the audit reason.")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Diff only; publish nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Do not wait for the sync backlog to drain (audited).")
    ] = False,
    drain_timeout: Annotated[
        float, typer.Option("--drain-timeout", min=0, help="Seconds to wait for the sync backlog to drain.")
    ] = 10.0,
    plan: PlanOption = None,
    full_diff: FullDiffOption = False,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """One step down for a stage (default: the last one started); no gates.

    A stage whose gates watch sync lag first waits for the sync backlog to drain."""
    change = _engine_run(
        plan,
        url,
        token,
        home,
        lambda engine: engine.rollback(
            stage, dry_run=dry_run, why=reason, force=force, drain_timeout_s=drain_timeout
        ),
    )
    _finish(change, as_json, full_diff)


@plan_app.command("adopt")
def adopt(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Differences and diff only.")] = False,
    plan: PlanOption = None,
    full_diff: FullDiffOption = False,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Bring hand-made routes into the plan: matches and rule order as the plan defines them (modes
    kept); explains what it cannot adopt (a mode no step describes, a rule the plan does not know)."""
    change = _engine_run(plan, url, token, home, lambda engine: engine.adopt(dry_run=dry_run))
    _finish(change, as_json, full_diff)


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")
