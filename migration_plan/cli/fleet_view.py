"""``strangler ps --fleet``: the data planes of every host, as the control plane's ``/workers`` lists them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.table import Table

__all__ = ["fleet_table"]


def fleet_table(answer: dict[str, Any]) -> Table:
    """One row per worker, grouped by data plane; the stale ones say what they serve and since when."""
    active = answer.get("active_version")
    by_instance: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for worker in answer.get("workers", []):
        by_instance[worker.get("instance") or worker["worker"]].append(worker)
    serving = sum(1 for w in answer.get("workers", []) if w.get("state") != "stale")
    current = sum(1 for w in answer.get("workers", []) if w.get("state") != "stale" and w["current"])
    table = Table(
        title=f"active v{active}: {current}/{serving} live workers on it, {len(by_instance)} data planes",
        title_justify="left",
    )
    for column in ("data plane", "worker", "version", "state", "detail"):
        table.add_column(column)
    for instance in sorted(by_instance):
        for worker in sorted(by_instance[instance], key=lambda w: w["worker"]):
            state = worker.get("state", "serving")
            if state == "serving" and not worker["current"]:
                state = "behind"
            table.add_row(
                instance,
                str(worker["pid"]),
                f"v{worker['version']}" if worker["version"] else "bootstrap",
                f"[red]{state}[/]" if state != "serving" else state,
                worker.get("detail", ""),
            )
    return table
