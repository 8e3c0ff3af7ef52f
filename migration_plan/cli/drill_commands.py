"""`strangler drill NAME|all|chaos|orders-crash`: drills under load, with a report per drill under
drills/reports/.

What is drilled comes from ``strangler.toml`` (``[drills]``: the route, its service, the load's
requests, the write probe); ``--route /a/path`` drills that path of the service instead. The crash drill
(``orders-crash``, also part of ``all``) reads ``[drills.crash]``.

Without ``--attach`` the drill starts its own stack (`strangler up` on free ports, in a temporary
STRANGLER_HOME or ``--home``) and stops it afterwards; with ``--attach`` it drives the stack that runs
for ``--home`` (default $STRANGLER_HOME), found by the usual port variables, else strangler.toml's ports.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from migration_plan.admin_client import AdminApiError, AdminClient
from migration_plan.home import find_home
from migration_plan.plan.model import Plan, PlanError, load_plan
from migration_plan.project import ProjectFile, ProjectFileError, load_project
from migration_plan.project.context import current_project_file
from migration_plan.project.drills_section import DrillCrashSection
from migration_plan.project.locustfile import project_locustfile
from migration_plan.toolbox.drills import (
    SCENARIOS,
    ChaosOptions,
    ChaosResult,
    DrillControl,
    DrillOptions,
    DrillResult,
    OwnStack,
    StackAddresses,
    StackError,
    run_chaos,
    run_scenarios,
    write_chaos_report,
)
from migration_plan.toolbox.drills.chaos_config import chaos_options as chaos_options_of
from migration_plan.toolbox.drills.orders_crash import NAME as CRASH
from migration_plan.toolbox.drills.orders_crash import (
    CrashOptions,
    CrashResult,
    run_orders_crash,
    write_crash_report,
)
from migration_plan.toolbox.drills.profile import DrillProfile, DrillProfileError, drill_profile, match_json
from migration_plan.toolbox.load import LoadError

__all__ = ["register"]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


_Name = Annotated[
    str, typer.Argument(help=f"One of: {', '.join(SCENARIOS)}, {CRASH}; or 'all'; or 'chaos' (see --seed).")
]
_Attach = Annotated[bool, typer.Option("--attach", help="Drive the stack already running for --home.")]
_Home = Annotated[
    Path | None,
    typer.Option("--home", help="State directory (own stack: default a temporary one).", show_default=False),
]
_Reports = Annotated[
    Path, typer.Option("--reports", envvar="STRANGLER_DRILL_REPORTS", help="Where reports go.")
]
_Route = Annotated[
    str | None,
    typer.Option(
        "--route",
        help="A path (/api/things: drilled as a route of its own, GET and HEAD) or a route's name: "
        "the plan's (its match and upstream), or the table's (default: strangler.toml's [drills] route).",
        show_default=False,
    ),
]
_Config = Annotated[
    Path | None,
    typer.Option("--config", help="The project file (default: ./strangler.toml).", show_default=False),
]
_SteadyS = Annotated[float, typer.Option("--steady-s", help="Seconds of steady state before.")]
_AfterS = Annotated[float, typer.Option("--after-s", help="Seconds of steady state after.")]
_Rate = Annotated[
    float | None,
    typer.Option(
        "--rate",
        min=0.1,
        help="Requests per second of the load (default: --capacity-fraction of the route's capacity, "
        "measured at the start of each drill; chaos: stock writes/s, orders-crash: checkouts/s).",
        show_default=False,
    ),
]
_CapacityFraction = Annotated[
    float,
    typer.Option(
        "--capacity-fraction",
        min=0.05,
        max=1.0,
        help="The load's share of the drilled route's capacity, measured at the start of each drill "
        "(reads; chaos: stock writes; orders-crash: checkouts), without --rate.",
    ),
]
_Token = Annotated[str | None, typer.Option("--token", help="Bearer token (attach).")]
_LocustUsers = Annotated[
    int,
    typer.Option(
        "--locust-users",
        min=0,
        help="Also run the project's locustfile (--locustfile, else strangler.toml's [load] locustfile) "
        "with this many users.",
    ),
]
_Locustfile = Annotated[
    Path | None,
    typer.Option(
        "--locustfile",
        help="The locustfile of --locust-users (default: strangler.toml's [load] locustfile, relative to "
        "it; else the demo's loadtests/shop.py).",
        show_default=False,
    ),
]
_Seed = Annotated[int, typer.Option("--seed", help="chaos: the seed of the fault sequence and the load.")]
_DurationS = Annotated[
    float, typer.Option("--duration-s", min=5.0, max=600.0, help="chaos: seconds of faults.")
]


def drill(
    name: _Name,
    attach: _Attach = False,
    home: _Home = None,
    reports: _Reports = Path("drills/reports"),
    route: _Route = None,
    config: _Config = None,
    steady_s: _SteadyS = 5.0,
    after_s: _AfterS = 5.0,
    rate: _Rate = None,
    capacity_fraction: _CapacityFraction = 0.5,
    token: _Token = None,
    locust_users: _LocustUsers = 0,
    locustfile: _Locustfile = None,
    seed: _Seed = 1,
    duration_s: _DurationS = 60.0,
) -> None:
    """Run one drill (or all of them, or the chaos drill) under load and write its report."""
    chaos = name == "chaos"
    crash = name in ("all", CRASH)
    names = list(SCENARIOS) if name == "all" else [] if chaos or name == CRASH else [name]
    if unknown := [n for n in names if n not in SCENARIOS]:
        choices = f"{', '.join(SCENARIOS)}, {CRASH}"
        raise _fail(f"unknown drill {unknown[0]!r}; choose one of {choices}, 'all' or 'chaos'")
    project, project_file, profile = _profile(config, route)
    chaos_options = (
        _chaos_options(project, profile, seed, duration_s, rate, capacity_fraction) if chaos else None
    )
    has_crash = project.drills is not None and project.drills.crash is not None
    # `all` runs the crash drill when the project describes one; `orders-crash` insists on it
    crash_section = _crash_section(project) if name == CRASH or (crash and has_crash) else None
    options = DrillOptions(
        profile=profile,
        steady_s=steady_s,
        after_s=after_s,
        rate=rate,
        capacity_fraction=capacity_fraction,
        locust_users=locust_users,
        locustfile=_locustfile(locustfile, project, project_file) if locust_users and names else None,
        reports=reports.absolute(),
    )
    console = Console(highlight=False, soft_wrap=True)

    def say(message: str) -> None:
        console.print(f"[dim]{escape(message)}[/]")

    temporary: Path | None = None
    own: OwnStack | None = None
    results: list[DrillResult] = []
    crashed: CrashResult | None = None
    try:
        if attach:
            stack = StackAddresses.from_environment(home or _default_home(), project, profile.service)
        else:
            own, temporary = _own_stack(home, project_file, profile)
            say(f"starting a stack in {own.home}")
            stack = own.start()
        admin = AdminClient.connect(stack.admin_url, token, stack.home)
        try:
            if chaos:
                assert chaos_options is not None
                outcome, report = _chaos(admin, stack, profile, chaos_options, reports, say)
            elif names:
                results = _scenarios(admin, stack, profile, names, options, say)
            if crash_section is not None:
                worker_env = own.environment if own is not None else {}
                crashed = _run_crash(admin, stack, crash_section, worker_env, project_file, options, say)
        finally:
            admin.close()
    except (StackError, AdminApiError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        if own is not None:
            own.stop()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    if chaos:
        _conclude_chaos(console, report, outcome)
    else:
        _conclude(console, reports, results, crashed)


def _own_stack(home: Path | None, project_file: Path, profile: DrillProfile) -> tuple[OwnStack, Path | None]:
    """The drill's own stack (not started) in ``home``, else in a temporary folder (returned, to remove)."""
    temporary = None
    if home is None:
        temporary = Path(tempfile.mkdtemp(prefix="strangler-drill-"))
        home = temporary / "home"
    return OwnStack(home, project_file, profile.service, profile.upstream), temporary


def _chaos_options(
    project: ProjectFile,
    profile: DrillProfile,
    seed: int,
    duration_s: float,
    rate: float | None,
    capacity_fraction: float,
) -> ChaosOptions:
    """The chaos drill's options from strangler.toml and the command line; a clear error when the
    project cannot say."""
    try:
        return chaos_options_of(
            project, profile, seed=seed, duration_s=duration_s, rate=rate, capacity_fraction=capacity_fraction
        )
    except DrillProfileError as exc:
        raise _fail(str(exc)) from exc


def _chaos(
    admin: AdminClient,
    stack: StackAddresses,
    profile: DrillProfile,
    chaos_options: ChaosOptions,
    reports: Path,
    say: Callable[[str], None],
) -> tuple[ChaosResult, Path]:
    """The chaos drill and its report."""
    chaos_control = DrillControl(admin, chaos_options.route, profile.upstream)
    outcome = run_chaos(stack, chaos_control, chaos_options, say=say)
    return outcome, write_chaos_report(outcome, reports.absolute())


def _scenarios(
    admin: AdminClient,
    stack: StackAddresses,
    profile: DrillProfile,
    names: list[str],
    options: DrillOptions,
    say: Callable[[str], None],
) -> list[DrillResult]:
    control = DrillControl(admin, profile.route, profile.upstream, dict(profile.match or {}) or None)
    try:
        return run_scenarios(names, stack, control, options, options.reports, say=say)
    finally:
        control.remove_created()  # a route the drill created goes once it is done


def _conclude_chaos(console: Console, report: Path, outcome: ChaosResult) -> None:
    """The report's path and the drill's line; exit 1 when it did not pass."""
    console.print(f"report: {escape(str(report))}")
    console.print(outcome.line())
    if not outcome.passed:
        raise typer.Exit(1)


def _conclude(
    console: Console, reports: Path, results: list[DrillResult], crashed: CrashResult | None
) -> None:
    """Each drill's line; exit 1 when one did not pass."""
    console.print(f"reports in {escape(str(reports))}")
    for result in results:
        console.print(result.line())
    if crashed is not None:
        console.print(crashed.line())
    if not all(_acceptable(result) for result in results) or (crashed is not None and not crashed.passed):
        raise typer.Exit(1)


def _crash_section(project: ProjectFile) -> tuple[DrillCrashSection, str]:
    """``[drills.crash]`` and its customers' password; a clear error when either is missing."""
    section = project.drills.crash if project.drills is not None else None
    if section is None:
        raise _fail(
            f"strangler.toml has no [drills.crash]: the {CRASH} drill needs the checkout route, the "
            "customers and the recovery worker's command (docs/project-file.md)"
        )
    password = section.password or os.environ.get(section.password_env or "", "")
    if not password:
        raise _fail(f"[drills.crash] password_env names {section.password_env}, which is not set")
    return section, password


def _run_crash(
    admin: AdminClient,
    stack: StackAddresses,
    crash: tuple[DrillCrashSection, str],
    worker_env: dict[str, str],
    project_file: Path,
    drill_options: DrillOptions,
    say: Callable[[str], None],
) -> CrashResult:
    """The crash drill, at ``--rate`` or ``--capacity-fraction`` of the checkouts the route sustains."""
    section, password = crash
    control = DrillControl(admin, section.route, section.upstream, match_json(section.match))
    options = CrashOptions(
        section,
        password,
        rate=drill_options.rate,
        capacity_fraction=drill_options.capacity_fraction,
        worker_env=worker_env,
        cwd=project_file.absolute().parent,
    )
    try:
        result = run_orders_crash(stack, control, options, say=say)
    finally:
        control.remove_created()
    write_crash_report(result, drill_options.reports)
    return result


def _profile(config: Path | None, route: str | None) -> tuple[ProjectFile, Path, DrillProfile]:
    """strangler.toml, its path and what it says to drill (with ``--route``); a clear error when it
    cannot say."""
    try:
        path = current_project_file(config)
        if path is None:
            raise ProjectFileError("no strangler.toml here: run `strangler init`, or pass --config FILE")
        project = load_project(path)
        plan = None
        if route is not None and not route.startswith("/"):
            plan = _plan(project, path.resolve().parent)
        profile = drill_profile(project, route=route, plan=plan, environ=os.environ)
        return project, path, profile
    except (ProjectFileError, DrillProfileError, PlanError) as exc:
        raise _fail(str(exc)) from exc


def _locustfile(explicit: Path | None, project: ProjectFile, project_file: Path) -> Path:
    """The locustfile of ``--locust-users``, checked before a stack starts."""
    try:
        return project_locustfile(explicit, project, project_file.resolve().parent)
    except LoadError as exc:
        raise _fail(f"--locust-users: {exc}") from exc


def _plan(project: ProjectFile, folder: Path) -> Plan | None:
    """$STRANGLER_PLAN (relative to the working directory), else the project's plan (relative to its
    file), as `strangler plan` finds it; None when there is neither."""
    if os.environ.get("STRANGLER_PLAN"):
        return load_plan(Path(os.environ["STRANGLER_PLAN"]))
    if not project.plan:
        return None
    path = Path(project.plan).expanduser()
    return load_plan(path if path.is_absolute() else folder / path)


def _acceptable(result: DrillResult) -> bool:
    return result.skipped is not None or result.passed


def _default_home() -> Path:
    return find_home(None)


def register(app: typer.Typer) -> None:
    """Add `strangler drill` to the CLI."""
    app.command("drill")(drill)
