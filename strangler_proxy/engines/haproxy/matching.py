"""First match wins, in time independent of the number of plain rules.

A *plain* rule (exact or prefix, no method, header or cookie condition, a path a map file can hold)
is looked up in one of two maps, keyed by its path (``exact.map``) or its prefix with a slash appended
(``prefix.map``, looked up with the request's path plus a slash, so ``/api`` takes ``/api`` and
``/api/x`` but not ``/apix``), each value ``<index>|<rule name>``. HAProxy's prefix map answers the
longest prefix, which is the first in table order: a shorter prefix ahead of a longer one would cover
it, and validation refuses a rule that can never match. The lower index of the two answers is the
candidate.

The other rules (patterns, and rules with conditions) are tried in table order as ACLs, each only
while its index is below the candidate's, so a condition is evaluated only when it could still win.
"""

from __future__ import annotations

import re

from strangler_proxy.engines.haproxy.conditions import path_acls, rule_condition
from strangler_proxy.engines.haproxy.directives import line
from strangler_proxy.engines.haproxy.layout import EngineLayout
from strangler_proxy.routes import MatchKind, RouteTable, Rule

__all__ = ["match_maps", "matching_lines"]

_MAP_KEY = re.compile(r"[!-~]+")
_NO_CANDIDATE = 1_000_000
"""The candidate index when no plain rule matched: every other rule may still win."""


def _plain(rule: Rule) -> bool:
    match = rule.match
    return (
        match.kind is not MatchKind.PATTERN
        and match.methods is None
        and not match.headers
        and not match.cookies
        and _MAP_KEY.fullmatch(match.path) is not None
        and "#" not in match.path
        and "\\" not in match.path
    )


def match_maps(table: RouteTable) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(exact entries, prefix entries) of the plain rules. A plain prefix rule behind an earlier plain
    prefix covering it can never match (validation refuses such a table; a table written to the store
    directly may still hold one) and is left out, so the longest prefix is always the first."""
    exact: dict[str, str] = {}
    prefix: dict[str, str] = {}
    for index, rule in enumerate(table.rules):
        if not _plain(rule):
            continue
        if rule.match.kind is MatchKind.EXACT:
            exact.setdefault(rule.match.path, f"{index}|{rule.name}")
            continue
        key = rule.match.path.rstrip("/") + "/"
        if not any(key.startswith(earlier) for earlier in prefix):
            prefix[key] = f"{index}|{rule.name}"
    return list(exact.items()), list(prefix.items())


def _set(var: str, expression: str, condition: str = "") -> str:
    return line(f"http-request set-var(txn.{var})", expression, condition)


def matching_lines(table: RouteTable, layout: EngineLayout) -> list[str]:
    """The directives that set ``txn.route`` to the first rule matching the request ("-": none)."""
    exact, prefix = match_maps(table)
    chain = [(index, rule) for index, rule in enumerate(table.rules) if not _plain(rule)]
    lines: list[str] = []
    if exact:
        lines.append(_set("cand", f"var(txn.path),map_str({layout.exact_map_path})"))
    if prefix:
        found = "{ var(txn.pcand) -m found }"
        lines += [
            _set("pcand", f"var(txn.path),concat(/),map_beg({layout.prefix_map_path})"),
            _set("pidx", "var(txn.pcand),field(1,|)", f"if {found}"),
            _set("cand", "var(txn.pcand)", f"if {found} !{{ var(txn.cand) -m found }}"),
            _set(
                "cand",
                "var(txn.pcand)",
                f"if {found} {{ var(txn.cand),field(1,|),sub(txn.pidx) -m int gt 0 }}",
            ),
        ]
    if chain:
        lines += [line(acl) for index, rule in chain for acl in path_acls(index, rule)]
        lines += [
            _set("cidx", "var(txn.cand),field(1,|)", "if { var(txn.cand) -m found }"),
            _set("cidx", f"int({_NO_CANDIDATE})", "unless { var(txn.cand) -m found }"),
        ]
        for index, rule in chain:
            guard = f"!{{ var(txn.route) -m found }} {{ var(txn.cidx) -m int gt {index} }}"
            lines.append(_set("route", f"str({rule.name})", f"if {guard} {rule_condition(index, rule)}"))
    if exact or prefix:
        lines.append(
            _set(
                "route",
                "var(txn.cand),field(2,|)",
                "if !{ var(txn.route) -m found } { var(txn.cand) -m found }",
            )
        )
    lines.append(_set("route", "str(-)", "unless { var(txn.route) -m found }"))
    return lines
