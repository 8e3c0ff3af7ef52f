"""Validation of a route table before it may be published.

A refused table never becomes active: the control plane keeps serving the old one (validate,
then switch). Every problem is reported at once, each as a sentence a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from strangler_proxy.routes.addresses import parse_ip, refusal
from strangler_proxy.routes.model import LEGACY, ActionMode, MatchKind, RouteTable, Rule, Upstream

__all__ = ["NEVER_COMPARED_HEADERS", "RouteTableInvalid", "covers", "table_problems", "validate_table"]

NEVER_COMPARED_HEADERS = frozenset(
    {"authorization", "cookie", "proxy-authorization", "set-cookie", "x-strangler-identity"}
)
"""Headers that carry end users' credentials: a shadow comparison would keep them in the mismatches
every viewer of the admin UI can read, so no rule may compare them (and the shadow process skips them)."""


class RouteTableInvalid(ValueError):
    """The table was refused; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("route table refused: " + "; ".join(problems))


def validate_table(table: RouteTable, registered: Mapping[str, Upstream] | None = None) -> RouteTable:
    """Return ``table`` when it is valid, else raise :class:`RouteTableInvalid`."""
    problems = table_problems(table, registered)
    if problems:
        raise RouteTableInvalid(problems)
    return table


def table_problems(table: RouteTable, registered: Mapping[str, Upstream] | None = None) -> list[str]:
    """Every reason ``table`` cannot be published; empty when it can.

    ``registered`` is the control plane's upstream registry: when given, every upstream of the table
    must be registered under the same name with the same URL.
    """
    problems: list[str] = []
    problems += _upstream_problems(table, registered)
    problems += _rule_problems(table)
    return problems


def _upstream_problems(table: RouteTable, registered: Mapping[str, Upstream] | None) -> list[str]:
    problems = []
    if LEGACY not in table.upstreams:
        problems.append("the table has no 'legacy' upstream; every table must name it")
    for key, upstream in table.upstreams.items():
        refused = _address_refusal(upstream.url)
        if refused:
            problems.append(f"upstream {upstream.name!r} points at {upstream.url}: {refused}")
        if key != upstream.name:
            problems.append(f"upstream key {key!r} differs from its name {upstream.name!r}")
        if registered is not None:
            known = registered.get(upstream.name)
            if known is None:
                problems.append(f"upstream {upstream.name!r} is not registered")
            elif known.url.rstrip("/") != upstream.url.rstrip("/"):
                problems.append(
                    f"upstream {upstream.name!r} points at {upstream.url}, but the registry has {known.url}"
                )
    return problems


def _address_refusal(url: str) -> str | None:
    """Why the address of ``url`` may never be an upstream's (link-local, metadata, unspecified...),
    whatever its spelling; names are checked where they are resolved (registration, each connection)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 0
    except ValueError:
        return "the URL does not parse"
    address = parse_ip(host)
    return None if address is None else refusal(address, port)


def _rule_problems(table: RouteTable) -> list[str]:
    problems = []
    seen_names: set[str] = set()
    earlier = _RuleIndex()
    for rule in table.rules:
        where = f"rule {rule.name!r}"
        if rule.name in seen_names:
            problems.append(f"{where}: the name is used by an earlier rule")
        seen_names.add(rule.name)
        problems += [f"{where}: {p}" for p in _action_problems(rule, table.upstreams)]
        secret = sorted(
            {name.lower() for name in rule.action.shadow.compare_headers} & NEVER_COMPARED_HEADERS
        )
        if secret:
            problems.append(
                f"{where}: compare_headers may not name {', '.join(secret)} (end users' credentials "
                "would be kept in the shadow mismatches)"
            )
        if rule.match.kind is MatchKind.PATTERN:
            try:
                re.compile(rule.match.path)
            except re.error as exc:
                problems.append(f"{where}: pattern {rule.match.path!r} does not compile ({exc})")
                continue
        shadowing = earlier.covering(rule)
        if len(shadowing) == 1:
            problems.append(
                f"{where} can never match: earlier rule {shadowing[0].name!r} "
                "already takes every request it would"
            )
        elif shadowing:
            names = ", ".join(repr(r.name) for r in shadowing)
            problems.append(
                f"{where} can never match: earlier rules {names} between them "
                "already take every request it would (each takes some of its methods)"
            )
        earlier.add(rule)
    return problems


def _action_problems(rule: Rule, upstreams: Mapping[str, Upstream]) -> Iterable[str]:
    action = rule.action
    if action.mode is ActionMode.LEGACY:
        if action.upstream not in (None, LEGACY):
            yield f"mode legacy takes no upstream (got {action.upstream!r})"
        return
    if action.upstream is None:
        yield f"mode {action.mode.value} needs an upstream"
        return
    if action.upstream == LEGACY:
        yield f"mode {action.mode.value} needs a new upstream, not 'legacy'"
    elif action.upstream not in upstreams:
        yield f"upstream {action.upstream!r} is not in the table's upstreams"
    if action.mode is not ActionMode.CANARY and action.weight not in (0, 100):
        yield f"weight applies to canary only (mode is {action.mode.value})"


class _RuleIndex:
    """Earlier rules indexed by path, so finding one that covers a new rule does not scan the table.

    Only rules keyed on the new rule's exact path, on one of its segment prefixes, or on the same
    pattern can cover it (see :func:`_covers`), so those are the only candidates examined.
    """

    def __init__(self) -> None:
        self._by_key: dict[tuple[MatchKind, str], list[tuple[int, Rule]]] = {}
        self._count = 0

    def add(self, rule: Rule) -> None:
        path = rule.match.path.rstrip("/") if rule.match.kind is MatchKind.PREFIX else rule.match.path
        self._by_key.setdefault((rule.match.kind, path), []).append((self._count, rule))
        self._count += 1

    def covering(self, rule: Rule) -> list[Rule]:
        """Earlier rules that together take every request ``rule`` could match, earliest first; empty
        when some request would still reach it. One rule may do it alone, or several whose method
        filters add up (GET on one, POST on the next, then a rule for GET and POST on the same path)."""
        candidates = sorted(
            (index, candidate)
            for index, candidate in self._candidates(rule)
            if _covers(candidate, rule, ignore_methods=True)
        )
        wanted = rule.match.methods
        taken: set[str] = set()
        used: list[Rule] = []
        for _index, candidate in candidates:
            methods = candidate.match.methods
            if methods is None:
                return [candidate]
            if wanted is None or not methods & (wanted - taken):
                continue
            taken |= methods
            used.append(candidate)
            if wanted <= taken:
                return used
        return []

    def _candidates(self, rule: Rule) -> Iterable[tuple[int, Rule]]:
        kind, path = rule.match.kind, rule.match.path
        if kind is MatchKind.PATTERN:
            yield from self._by_key.get((MatchKind.PATTERN, path), ())
            return
        if kind is MatchKind.EXACT:
            yield from self._by_key.get((MatchKind.EXACT, path), ())
        for base in _segment_bases(path):
            yield from self._by_key.get((MatchKind.PREFIX, base), ())


def _segment_bases(path: str) -> set[str]:
    """Every prefix key that could cover ``path``: '' (the root) and each whole-segment prefix."""
    bases = {"", path.rstrip("/")}
    bases.update(path[:i] for i, char in enumerate(path) if char == "/" and i > 0)
    return bases


def covers(earlier: Rule, later: Rule) -> bool:
    """True when ``earlier``, placed before ``later``, takes every request ``later`` would match."""
    return _covers(earlier, later)


def _covers(a: Rule, b: Rule, *, ignore_methods: bool = False) -> bool:
    ma, mb = a.match, b.match
    if set(ma.headers) - set(mb.headers) or set(ma.cookies) - set(mb.cookies):
        return False
    if not ignore_methods and ma.methods is not None and (mb.methods is None or not mb.methods <= ma.methods):
        return False
    if ma.kind is MatchKind.PATTERN or mb.kind is MatchKind.PATTERN:
        return ma.kind is mb.kind and ma.path == mb.path
    if ma.kind is MatchKind.EXACT:
        return mb.kind is MatchKind.EXACT and mb.path == ma.path
    return _prefix_covers(ma.path, mb.path)


def _prefix_covers(prefix: str, path: str) -> bool:
    """Prefix matching is by whole segments: '/api' covers '/api' and '/api/x', not '/apix'."""
    if prefix == "/":
        return True
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")
