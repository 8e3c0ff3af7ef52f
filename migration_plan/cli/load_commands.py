"""`strangler load`: one bounded headless locust run against the front door, with thresholds.

Exit code 0 when the thresholds are met, 1 when one is missed (usable as a plan gate or in CI),
2 when locust could not run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from migration_plan.project import ProjectFileError
from migration_plan.project.locustfile import current_locustfile
from migration_plan.toolbox.load import LoadError, LoadOptions, LoadSummary, run_load
from migration_plan.toolbox.load import Progress as LoadProgress

__all__ = ["print_summary", "register"]


def _default_host() -> str:
    return f"http://127.0.0.1:{os.environ.get('STRANGLER_DATAPLANE_PORT', '8000')}"


def print_summary(summary: LoadSummary, console: Console) -> None:
    """The per-endpoint table, the totals and the verdict."""
    table = Table(title=f"load: {summary.users} users for {summary.run_time_s} s against {summary.host}")
    for column in ("endpoint", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for e in sorted(summary.endpoints, key=lambda e: -e.requests):
        table.add_row(
            escape(f"{e.method} {e.name}"),
            str(e.requests),
            f"[red]{e.failures}[/]" if e.failures else "0",
            f"{e.rps:g}",
            f"{e.median_ms:g}",
            f"{e.p95_ms:g}",
            f"{e.p99_ms:g}",
        )
    table.add_row(
        "[bold]total[/]",
        str(summary.requests),
        str(summary.failures),
        f"{summary.rps:g}",
        f"{summary.median_ms:g}",
        f"{summary.p95_ms:g}",
        f"{summary.p99_ms:g}",
    )
    console.print(table)
    for reason in summary.failure_reasons:
        console.print(
            f"[red]failed {reason.occurrences}x[/] {escape(f'{reason.method} {reason.name}')}: "
            f"{escape(reason.error)}"
        )
    console.print(
        f"error rate {summary.error_rate:.2%}, p95 {summary.p95_ms:g} ms; summary {summary.json_path}"
    )
    if summary.passed:
        console.print("[green]thresholds met[/]")
    for problem in summary.problems:
        console.print(f"[bold red]threshold missed:[/] {escape(problem)}")


def load(
    host: Annotated[
        str | None,
        typer.Option("--host", help="Front door URL (default http://127.0.0.1:$STRANGLER_DATAPLANE_PORT)."),
    ] = None,
    locustfile: Annotated[
        Path | None,
        typer.Option(
            "--locustfile",
            "-f",
            help="Locustfile (default: strangler.toml's [load] locustfile, else loadtests/shop.py).",
            show_default=False,
        ),
    ] = None,
    users: Annotated[int, typer.Option("--users", "-u", min=1, max=1000, help="Concurrent users.")] = 10,
    spawn_rate: Annotated[
        float, typer.Option("--spawn-rate", "-r", min=0.1, help="Users started per second.")
    ] = 5.0,
    run_time: Annotated[int, typer.Option("--run-time", "-t", min=1, max=3600, help="Seconds of load.")] = 30,
    reports: Annotated[Path, typer.Option("--reports", help="Folder for CSV and summary.")] = Path(
        "reports/load"
    ),
    csv_prefix: Annotated[
        str | None, typer.Option("--csv", help="File prefix (default load-<time>).")
    ] = None,
    max_error_rate: Annotated[
        float | None, typer.Option("--max-error-rate", min=0, max=1, help="Fail above this share of errors.")
    ] = None,
    max_p95_ms: Annotated[
        float | None, typer.Option("--max-p95-ms", min=0, help="Fail above this p95.")
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="Only tasks with this locust tag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run locust headless against the proxy, write CSV + summary, check the thresholds."""
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        options = LoadOptions(
            host=host or _default_host(),
            locustfile=locustfile if locustfile is not None else current_locustfile(None),
            users=users,
            spawn_rate=spawn_rate,
            run_time_s=run_time,
            reports_dir=reports,
            csv_prefix=csv_prefix,
            max_error_rate=max_error_rate,
            max_p95_ms=max_p95_ms,
            tags=tuple(tags or ()),
        )
        with Progress(
            TextColumn("[bold]load[/]"),
            BarColumn(),
            TextColumn("{task.fields[figures]}"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar:
            task = bar.add_task("load", total=run_time, figures="starting")

            def show(progress: LoadProgress) -> None:
                figures = f"{progress.requests} requests, {progress.failures} failed"
                bar.update(task, completed=progress.elapsed_s, figures=figures)

            summary = run_load(options, on_progress=show)
    except (LoadError, ProjectFileError) as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        print_summary(summary, console)
    if not summary.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("load")(load)
