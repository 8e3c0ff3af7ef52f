"""What the user reads: the table of URLs once the stack is up, the admin password notice, `strangler ps`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from migration_plan.toolbox.supervisor.spec import ProcessSpec

__all__ = ["admin_password_notice", "format_uptime", "print_ready", "ps_table", "urls_table"]

_STATE_STYLES = {
    "running": "green",
    "starting": "yellow",
    "setup": "yellow",
    "backoff": "bold yellow",
    "stopping": "yellow",
    "stopped": "dim",
    "exited": "red",
    "failed": "bold red",
}


def urls_table(specs: Sequence[ProcessSpec]) -> Table:
    table = Table(title="strangler-fig is up", title_justify="left", show_edge=False)
    table.add_column("what")
    table.add_column("url", style="bold cyan", no_wrap=True)
    table.add_column("process", style="dim")
    for spec in specs:
        if spec.url:
            table.add_row(spec.label or spec.name, spec.url, spec.name)
    return table


def admin_password_notice(path: Path | None, run_started: float) -> str | None:
    """Where the admin password is; the password itself only when it was created during this run."""
    if path is None:
        return None
    if not path.is_file():
        return f"admin password: not created yet (the control plane writes it to {path} on first start)"
    if path.stat().st_mtime >= run_started - 1:
        password = path.read_text(encoding="utf-8").strip()
        return f"admin UI login: user admin, password {password} (first start, shown once; kept in {path})"
    return f"admin UI login: user admin, password in {path}"


def format_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ps_table(processes: Sequence[dict[str, Any]]) -> Table:
    table = Table(show_edge=False)
    for column in ("name", "pid", "state", "restarts", "uptime", "health", "port"):
        table.add_column(
            column, no_wrap=True, justify="right" if column in ("pid", "restarts", "port") else "left"
        )
    for process in processes:
        state = process["state"]
        table.add_row(
            process["name"],
            str(process["pid"] or "-"),
            f"[{_STATE_STYLES.get(state, 'white')}]{state}[/]",
            str(process["restarts"]),
            format_uptime(process["uptime"]),
            process["health"] or "-",
            str(process["port"] or "-"),
        )
    return table


def print_ready(
    console: Console, specs: Sequence[ProcessSpec], admin_password_file: Path | None, *, run_started: float
) -> None:
    """Shown once every process is healthy; ``run_started`` is this run's start (``time.time()``)."""
    console.print()
    console.print(urls_table(specs))
    notice = admin_password_notice(admin_password_file, run_started)
    if notice:
        console.print(notice, highlight=False, markup=False)
    console.print("Ctrl-C stops everything; `strangler ps` shows the processes.\n", style="dim")
