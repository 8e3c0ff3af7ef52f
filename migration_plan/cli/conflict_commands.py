"""`strangler sync conflicts [list|resolve]`: the sides' conflict queues, through the admin API.

A change from the other side that does not commute with one made here meanwhile (a stock level set
while the stock moved, a rename crossing a rename) is parked in that side's queue with both values
instead of being applied. The list shows every side's open ones (``--all``: resolved too); ``resolve``
records the operator's choice and, for a product's fields or stock, writes the kept values to both sides.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from migration_plan.cli.routes_commands import (
    HomeOption,
    ReasonOption,
    TokenOption,
    UrlOption,
    _console,
    _run,
)

__all__ = ["conflicts_app"]

conflicts_app = typer.Typer(
    name="conflicts",
    help="Changes parked in the sides' conflict queues: list, resolve.",
    invoke_without_command=True,
)


def _value(value: Any) -> str:
    return escape(json.dumps(value, sort_keys=True) if not isinstance(value, str) else value)


@conflicts_app.callback()
def conflicts(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Resolved conflicts too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the queue as JSON.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """List the conflict queues (exit 1 when a conflict is open)."""
    if ctx.invoked_subcommand is not None:
        return
    path = "/sync/conflicts" + ("?all=1" if show_all else "")
    data = _run(url, token, home, lambda a: a.request("GET", path))
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        table = Table("side", "id", "what", "ours", "theirs", "versions", "detected", "resolved")
        for c in data["conflicts"]:
            table.add_row(
                c["side"],
                str(c["id"]),
                escape(f"{c['aggregate_type']} {c['aggregate_id']} {c['field']} (from {c['origin']})"),
                _value(c["ours"]),
                _value(c["theirs"]),
                f"expected {c['expected_version']}, found {c['found_version']}",
                str(c["detected_at"]),
                f"{c['resolution']} by {c['resolved_by']}" if c.get("resolved_at") else "",
            )
        _console().print(table)
        for side, error in data.get("unreadable", {}).items():
            _console().print(f"[red]side {escape(side)} unreadable:[/] {escape(error)}")
        _console().print(f"{data['open']} open")
    if data["open"]:
        raise typer.Exit(1)


@conflicts_app.command("resolve")
def resolve(
    side: Annotated[str, typer.Argument(help="The side holding the conflict (legacy, catalog...).")],
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id on that side.")],
    keep: Annotated[str, typer.Option("--keep", help="ours (the side's value) or theirs (the parked one).")],
    reason: ReasonOption,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Resolve one parked change (audited): a product's fields or stock are written to both sides when
    the control plane has a resolver (STRANGLER_SYNC_RESOLVER); otherwise write the value on its owner."""
    if keep not in ("ours", "theirs"):
        _console().print("[bold red]error:[/] --keep must be 'ours' or 'theirs'")
        raise typer.Exit(2)
    body = {"keep": keep, "reason": reason}
    result = _run(
        url, token, home, lambda a: a.request("POST", f"/sync/conflicts/{side}/{conflict_id}/resolve", body)
    )
    _console().print(f"conflict {side}/{conflict_id} resolved: keep {escape(str(result.get('resolution')))}")
    if result.get("written") is not None:
        written = result["written"]
        _console().print(
            f"written to both sides at version {escape(str(written.get('version')))}: "
            f"{escape(json.dumps(written.get('values', {})))}"
        )
        for other in result.get("superseded", []):
            _console().print(f"conflict {escape(str(other))} superseded")
