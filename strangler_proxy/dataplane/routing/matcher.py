"""First-match-wins over ordered rules, without walking the rules.

Semantics (identical to a linear scan of the rules in order, taking the first that matches):

- ``exact``: the path equals the rule's path.
- ``prefix``: by whole segments, as the validator's ``_prefix_covers``: ``/api`` matches ``/api`` and
  ``/api/x``, never ``/apix``. A trailing ``/`` on the rule's prefix is ignored (``/api/`` is
  ``/api``), and ``/`` matches every path.
- ``pattern``: a Python regular expression that must match the whole path (``re.fullmatch``).
- ``methods`` (when set) must contain the request method (HEAD is a method of its own: list it next
  to GET when a rule should take both); every header predicate must hold for some value of that
  header (names case-insensitive, values exact), every cookie predicate for that cookie (the first
  occurrence of a name counts); ``equals=None`` means "present".

Cost: exact and prefix rules are indexed in dicts (exact path -> rules; prefix with its trailing
slash removed -> rules), and a request looks up its own path and each of its segment prefixes, so a
match is O(path length) whatever the number of rules. Among all candidates that pass their
predicates the lowest rule index wins. Pattern rules are linear: they are tried in order, and only
those whose index is lower than the best exact/prefix candidate found, so a table with few patterns
ahead of its exact/prefix rules stays fast.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence

from strangler_proxy.dataplane.routing.request import RequestView
from strangler_proxy.routes.model import MatchKind, Predicate, Rule

__all__ = ["CompiledRule", "Matcher", "prefix_key"]

_NO_INDEX = sys.maxsize


def prefix_key(prefix: str) -> str:
    """The dict key of a prefix rule: its path without trailing slashes ('' for the root)."""
    return prefix.rstrip("/")


def _header_predicates(predicates: Iterable[Predicate]) -> tuple[tuple[bytes, bytes | None], ...]:
    return tuple(
        (p.name.lower().encode("latin-1", "replace"), None if p.equals is None else p.equals.encode("utf-8"))
        for p in predicates
    )


class CompiledRule:
    """One rule with its predicates in the forms a request is checked against."""

    __slots__ = ("cookies", "headers", "index", "methods", "pattern", "rule")

    def __init__(self, index: int, rule: Rule) -> None:
        self.index = index
        self.rule = rule
        self.methods = rule.match.methods
        self.headers = _header_predicates(rule.match.headers)
        self.cookies = tuple((p.name, p.equals) for p in rule.match.cookies)
        self.pattern = re.compile(rule.match.path) if rule.match.kind is MatchKind.PATTERN else None

    def accepts(self, method: str, request: RequestView) -> bool:
        """Methods and header/cookie predicates hold (the path is checked by the caller)."""
        if self.methods is not None and method not in self.methods:
            return False
        for name, expected in self.headers:
            values = request.header_values(name)
            if not values or (expected is not None and expected not in values):
                return False
        if self.cookies:
            cookies = request.cookies()
            for cookie, wanted in self.cookies:
                value = cookies.get(cookie)
                if value is None or (wanted is not None and value != wanted):
                    return False
        return True


class Matcher:
    """The index of one table's rules; immutable once built."""

    __slots__ = ("_exact", "_patterns", "_prefixes", "rules")

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(CompiledRule(i, rule) for i, rule in enumerate(rules))
        exact: dict[str, list[CompiledRule]] = {}
        prefixes: dict[str, list[CompiledRule]] = {}
        patterns: list[CompiledRule] = []
        for compiled in self.rules:
            kind = compiled.rule.match.kind
            if kind is MatchKind.EXACT:
                exact.setdefault(compiled.rule.match.path, []).append(compiled)
            elif kind is MatchKind.PREFIX:
                prefixes.setdefault(prefix_key(compiled.rule.match.path), []).append(compiled)
            else:
                patterns.append(compiled)
        # Lists are built in rule order, so each tuple is sorted by index.
        self._exact = {path: tuple(found) for path, found in exact.items()}
        self._prefixes = {key: tuple(found) for key, found in prefixes.items()}
        self._patterns = tuple(patterns)

    def match(self, method: str, path: str, request: RequestView) -> CompiledRule | None:
        """The first rule (lowest index) matching the request, or None."""
        best: CompiledRule | None = None
        best_index = _NO_INDEX
        prefixes = self._prefixes
        if prefixes:
            found = prefixes.get("")
            if found is not None:
                best, best_index = _first_of(found, method, request, best, best_index)
            slash = path.find("/", 1)
            while slash != -1:
                found = prefixes.get(path[:slash])
                if found is not None:
                    best, best_index = _first_of(found, method, request, best, best_index)
                slash = path.find("/", slash + 1)
            found = prefixes.get(path)
            if found is not None:
                best, best_index = _first_of(found, method, request, best, best_index)
        found = self._exact.get(path)
        if found is not None:
            best, best_index = _first_of(found, method, request, best, best_index)
        for compiled in self._patterns:
            if compiled.index >= best_index:
                break
            if compiled.pattern.fullmatch(path) is not None and compiled.accepts(method, request):  # type: ignore[union-attr]
                return compiled
        return best


def _first_of(
    candidates: tuple[CompiledRule, ...] | None,
    method: str,
    request: RequestView,
    best: CompiledRule | None,
    best_index: int,
) -> tuple[CompiledRule | None, int]:
    """The better of ``best`` and the first of ``candidates`` (sorted by index) that accepts the request."""
    if candidates is None:
        return best, best_index
    for compiled in candidates:
        if compiled.index >= best_index:
            break
        if compiled.accepts(method, request):
            return compiled, compiled.index
    return best, best_index
