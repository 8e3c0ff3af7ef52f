"""`strangler sync backfill|reconcile|lag`: data sync between the monolith and the services.

The commands run ``python -m acl.sync`` as a child process with the same environment and terminal (plus
the project's sync pipelines, ``[sync] pipelines`` of its strangler.toml, unless STRANGLER_SYNC_PIPELINES
is set):
the CLI stays free of the sync code and its database drivers (it reaches every part over HTTP or as a
process), and the child's progress bar, output and exit status are the command's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from migration_plan.cli.conflict_commands import conflicts_app
from migration_plan.home import find_home
from migration_plan.project.loader import ProjectFileError, find_project_file, load_project

__all__ = ["register", "sync_argv"]

sync_app = typer.Typer(name="sync", help="Data sync: backfill, reconcile and lag.", no_args_is_help=True)

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home", help="State directory (default: $STRANGLER_HOME, else ./.strangler).", show_default=False
    ),
]


def sync_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "acl.sync", *args]


def _pipelines() -> str | None:
    """The project's ``[sync] pipelines`` (its strangler.toml, found as every command finds it); None
    without a usable project file."""
    path = find_project_file()
    if path is None:
        return None
    try:
        return " ".join(load_project(path).sync.pipelines)
    except ProjectFileError:
        return None


def _run(args: list[str], home: Path | None) -> None:
    env = dict(os.environ)
    env["STRANGLER_HOME"] = str(find_home(home))
    if "STRANGLER_SYNC_PIPELINES" not in env and (pipelines := _pipelines()) is not None:
        env["STRANGLER_SYNC_PIPELINES"] = pipelines
    try:
        code = subprocess.call(sync_argv(*args), env=env)
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code)


@sync_app.command()
def backfill(
    target: Annotated[
        str,
        typer.Argument(
            help="The demo's service to fill: catalog or orders. For your own monolith's aggregates run"
            " `python manage.py strangler_backfill AGGREGATE` in it (strangler_django) instead."
        ),
    ],
    restart: Annotated[bool, typer.Option("--restart", help="Ignore the checkpoint and start over.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000)] = 1000,
    max_pages: Annotated[int | None, typer.Option("--max-pages", min=1, help="Stop after N pages.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    home: HomeOption = None,
) -> None:
    """Copy every product of the demo monolith into its service: resumable and idempotent (upserts).

    Your own monolith's rows: `python manage.py strangler_backfill AGGREGATE` (strangler_django).
    """
    args = ["backfill", target, "--batch-size", str(batch_size)]
    if restart:
        args.append("--restart")
    if max_pages is not None:
        args += ["--max-pages", str(max_pages)]
    if no_progress:
        args.append("--no-progress")
    _run(args, home)


@sync_app.command()
def reconcile(
    target: Annotated[str, typer.Argument(help="The service to compare: catalog or orders.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Differences listed.")] = 50,
    home: HomeOption = None,
) -> None:
    """Compare both sides (counts and per-product checksums); exit 1 and list the differences if any."""
    args = ["reconcile", target, "--limit", str(limit)]
    if as_json:
        args.append("--json")
    _run(args, home)


@sync_app.command()
def lag(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    home: HomeOption = None,
) -> None:
    """Sync lag and backlog per direction (forward: legacy -> service, reverse: service -> legacy)."""
    _run(["lag", "--json"] if as_json else ["lag"], home)


def register(app: typer.Typer) -> None:
    sync_app.add_typer(conflicts_app, name="conflicts")
    app.add_typer(sync_app, name="sync")
