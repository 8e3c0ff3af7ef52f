"""Where the Gateway API would route a request differently from the route table's first match.

The table is ordered: the first rule that matches a request wins. The Gateway API orders matches by
their specificity instead (an exact path, then the longest path prefix, then a method, then the most
header matches; regular-expression paths in an order of the implementation's choosing), and only
between equals by their order in one ``HTTPRoute``. An export is faithful when, for every two rules
that can match the same request and send it to different places, the earlier rule's matches rank
above the later one's, or tie within one ``HTTPRoute``. :func:`order_problems` names every pair that
breaks this, so the export is refused instead of silently routing differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from strangler_proxy.routes import MatchKind, Predicate, Rule

__all__ = ["literal_prefix", "order_problems"]


@dataclass(frozen=True)
class _Rank:
    """A Gateway API match's precedence (higher wins); None for a regular expression (unknowable)."""

    key: tuple[int, int, int, int] | None


def _rank(rule: Rule, method: str | None) -> _Rank:
    match = rule.match
    if match.kind is MatchKind.PATTERN:
        return _Rank(None)
    exact = 1 if match.kind is MatchKind.EXACT else 0
    length = len(match.path.rstrip("/") or "/")
    conditions = len(match.headers) + (1 if match.cookies else 0)
    return _Rank((exact, length, 1 if method else 0, conditions))


_META = frozenset("\\.^$*+?{}[]|()")


def literal_prefix(pattern: str) -> str:
    """What every path a pattern matches starts with ('' when that cannot be told: an alternation)."""
    if "|" in pattern:
        return ""
    text = pattern[1:] if pattern.startswith("^") else pattern
    for index, char in enumerate(text):
        if char in _META:
            # a quantifier makes the character before it optional
            return text[: index - 1] if char in "?*{" and index else text[:index]
    return text


def _paths_overlap(a: Rule, b: Rule) -> bool:
    """Whether some path may match both rules (a pattern is judged by its literal prefix)."""
    ma, mb = a.match, b.match
    if MatchKind.PATTERN in (ma.kind, mb.kind):
        if ma.kind is MatchKind.PATTERN and mb.kind is MatchKind.EXACT:
            return re.fullmatch(ma.path, mb.path) is not None
        if mb.kind is MatchKind.PATTERN and ma.kind is MatchKind.EXACT:
            return re.fullmatch(mb.path, ma.path) is not None
        first = literal_prefix(ma.path) if ma.kind is MatchKind.PATTERN else ma.path.rstrip("/")
        second = literal_prefix(mb.path) if mb.kind is MatchKind.PATTERN else mb.path.rstrip("/")
        return first.startswith(second) or second.startswith(first)
    if ma.kind is MatchKind.EXACT and mb.kind is MatchKind.EXACT:
        return ma.path == mb.path
    if ma.kind is MatchKind.EXACT:
        return _under(ma.path, mb.path)
    if mb.kind is MatchKind.EXACT:
        return _under(mb.path, ma.path)
    return _under(ma.path, mb.path) or _under(mb.path, ma.path)


def _under(path: str, prefix: str) -> bool:
    base = prefix.rstrip("/")
    return not base or path == base or path.startswith(base + "/")


def _predicates_compatible(
    a: Iterable[Predicate], b: Iterable[Predicate], fold: Callable[[str], str]
) -> bool:
    """False when one name must hold two different values (no request matches both)."""
    wanted: dict[str, str] = {}
    for predicate in (*a, *b):
        if predicate.equals is None:
            continue
        name = fold(predicate.name)
        if wanted.setdefault(name, predicate.equals) != predicate.equals:
            return False
    return True


def _may_overlap(a: Rule, b: Rule) -> bool:
    ma, mb = a.match, b.match
    if ma.methods is not None and mb.methods is not None and not ma.methods & mb.methods:
        return False
    return (
        _paths_overlap(a, b)
        and _predicates_compatible(ma.headers, mb.headers, str.lower)
        and _predicates_compatible(ma.cookies, mb.cookies, str)
    )


def order_problems(
    rules: list[Rule],
    route_of: Callable[[int], int],
    outcome: Callable[[Rule], object],
    *,
    unordered: Callable[[Rule, Rule], bool] = lambda earlier, later: False,
) -> list[str]:
    """Every pair of rules the Gateway API would order differently from the table, where it matters.

    ``route_of(index)`` is the ``HTTPRoute`` a rule is exported into (ties are kept in order only inside
    one); ``outcome(rule)`` is where a rule sends requests (two rules sending alike cannot conflict);
    ``unordered(earlier, later)`` exempts a pair the caller accounts for otherwise.
    """
    problems = []
    for i, earlier in enumerate(rules):
        for j in range(i + 1, len(rules)):
            later = rules[j]
            if outcome(earlier) == outcome(later) or unordered(earlier, later):
                continue
            if not _may_overlap(earlier, later):
                continue
            reason = _misordered(earlier, later, same_route=route_of(i) == route_of(j))
            if reason:
                problems.append(
                    f"rules {earlier.name!r} and {later.name!r} can match the same request and the Gateway "
                    f"API would not let the earlier one win: {reason}"
                )
    return problems


def _methods(rule: Rule) -> list[str | None]:
    if rule.match.methods is None:
        return [None]
    return [method for method in sorted(rule.match.methods)]


def _misordered(earlier: Rule, later: Rule, *, same_route: bool) -> str | None:
    for first in _methods(earlier):
        for second in _methods(later):
            if first and second and first != second:
                continue
            a, b = _rank(earlier, first), _rank(later, second)
            if a.key is None or b.key is None:
                return "the precedence of a regular-expression path is the implementation's choice"
            if b.key > a.key:
                return "the later one is more specific (exact path, longer prefix, method or more headers)"
            if b.key == a.key and not same_route:
                return "they rank equal and fall in different HTTPRoutes (then the older route wins)"
    return None
