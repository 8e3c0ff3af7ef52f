"""`strangler routes apply FILE`: several route changes published as one version, after a diff.

The file (YAML or JSON) lists changes to the active table, applied in this order::

    reason: take over catalog reads and orders       # the audit reason (or --reason)
    remove: [old-route]                              # rules deleted by name
    rules:                                           # rules added, or replaced when the name exists
      - name: catalog-reads
        match: {kind: prefix, path: /api/catalog/, methods: [GET, HEAD]}
        position: 0                                  # optional: where a new rule goes (default last)
    flips:                                           # mode changes, as `routes flip` makes them
      - {route: catalog-reads, mode: shadow, upstream: catalog}

The candidate is checked by the control plane (a dry run), its diff shown, then published with
``expected_version`` set to the version it was built from after a confirmation (or ``--yes``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape

from migration_plan.cli.exit_codes import ExitCode
from migration_plan.cli.routes_commands import (
    MODES,
    HomeOption,
    TokenOption,
    UrlOption,
    YesOption,
    confirm_or_exit,
    print_diff,
    routes_app,
    run_admin,
    usage_error,
)

__all__ = ["ChangeError", "apply_changes", "load_changes", "register"]

LEGACY = "legacy"


class ChangeError(ValueError):
    """A change file that cannot apply to the active table."""


def load_changes(path: Path) -> dict[str, Any]:
    """The change document of ``path`` (YAML or JSON)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ChangeError(f"{path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ChangeError(f"{path}: expected a mapping with rules, flips and/or remove")
    unknown = set(document) - {"reason", "rules", "flips", "remove"}
    if unknown:
        raise ChangeError(f"{path}: unknown keys {', '.join(sorted(unknown))} (reason, rules, flips, remove)")
    return document


def apply_changes(
    table: dict[str, Any], registry: dict[str, dict[str, Any]], changes: dict[str, Any]
) -> dict[str, Any]:
    """The candidate table (JSON): ``changes`` applied to ``table``, upstreams from ``registry``."""
    rules: list[dict[str, Any]] = [dict(rule) for rule in table["rules"]]
    names = [rule["name"] for rule in rules]
    for name in changes.get("remove") or []:
        if name not in names:
            raise ChangeError(f"remove: route {name!r} is not in the active table")
        rules = [rule for rule in rules if rule["name"] != name]
        names.remove(name)
    for entry in changes.get("rules") or []:
        rule = dict(entry)
        position = rule.pop("position", None)
        if "name" not in rule or "match" not in rule:
            raise ChangeError(f"rules: each rule needs a name and a match ({entry})")
        rule.setdefault("action", {"mode": LEGACY})
        if rule["name"] in names:
            rules[names.index(rule["name"])] = rule
        else:
            at = len(rules) if position is None else max(0, min(int(position), len(rules)))
            rules.insert(at, rule)
            names.insert(at, rule["name"])
    for flip in changes.get("flips") or []:
        _flip(rules, names, flip)
    upstreams = {key: registry.get(key, value) for key, value in table["upstreams"].items()}
    used = {LEGACY} | {r.get("action", {}).get("upstream") for r in rules} - {None}
    for name in used - set(upstreams):
        if name not in registry:
            raise ChangeError(f"upstream {name!r} is not registered (strangler routes register)")
        upstreams[name] = registry[name]
    return {"upstreams": {k: v for k, v in upstreams.items() if k in used}, "rules": rules}


def _flip(rules: list[dict[str, Any]], names: list[str], flip: dict[str, Any]) -> None:
    name, mode = flip.get("route"), flip.get("mode")
    if name not in names:
        raise ChangeError(f"flips: route {name!r} is not in the table")
    if mode not in MODES:
        raise ChangeError(f"flips: {name}: mode must be one of {', '.join(MODES)}")
    rule = rules[names.index(name)]
    action = dict(rule.get("action") or {})
    if mode == LEGACY:
        action.update(mode=LEGACY, upstream=None, weight=0)
    else:
        upstream = flip.get("upstream") or action.get("upstream")
        if not upstream:
            raise ChangeError(f"flips: {name} names no new upstream; give upstream to flip it to {mode}")
        given = flip.get("weight")
        weight = int(given if given is not None else action.get("weight") or 0) if mode == "canary" else 0
        action.update(mode=mode, upstream=upstream, weight=weight)
    rule["action"] = action


def apply(
    file: Annotated[Path, typer.Argument(help="YAML or JSON file of changes (rules, flips, remove).")],
    reason: Annotated[
        str | None, typer.Option("--reason", "-r", help="Audit reason (else the file's).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, publish nothing.")] = False,
    yes: YesOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Publish several route changes as one version: shows the diff, asks, publishes."""
    try:
        changes = load_changes(file)
    except ChangeError as exc:
        raise usage_error(str(exc)) from None
    why = reason or str(changes.get("reason") or "")
    if not why:
        raise usage_error("give --reason or a reason: in the file (it is recorded in the audit log)")
    console = Console(highlight=False, soft_wrap=True)

    def preview(admin: Any) -> tuple[int, dict[str, Any], dict[str, Any]]:
        active = admin.request("GET", "/versions/active")
        registry = {u["name"]: u for u in admin.request("GET", "/upstreams")["upstreams"]}
        try:
            candidate = apply_changes(active["table"], registry, changes)
        except ChangeError as exc:
            raise usage_error(str(exc)) from None
        body = {"table": candidate, "expected_version": active["version"], "reason": why, "dry_run": True}
        return active["version"], candidate, admin.request("POST", "/versions", body)

    base, candidate, checked = run_admin(url, token, home, preview)
    print_diff(checked["diff"])
    if checked.get("problems"):
        for problem in checked["problems"]:
            console.print(f"[red]would be refused:[/] {escape(problem)}")
        raise typer.Exit(ExitCode.FAILED)
    if dry_run or not checked["diff"].get("text", "").strip():
        if not dry_run:
            console.print("nothing to change")
        return
    confirm_or_exit(f"publish these changes as one version (from version {base})?", yes)
    body = {"table": candidate, "expected_version": base, "reason": why}
    result = run_admin(url, token, home, lambda a: a.request("POST", "/versions", body))
    console.print(
        f"[green]active version {result['version']}[/] (was {result.get('previous_version', base)}): "
        f"{escape(result['diff']['summary'])}"
    )


def register(app: typer.Typer) -> None:
    """Add `routes apply` to the routes group (``app`` is the top-level CLI, unused)."""
    routes_app.command("apply")(apply)
