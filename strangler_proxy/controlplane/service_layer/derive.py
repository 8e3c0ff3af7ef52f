"""Pure derivations of a new route table from the active one: flip, add, remove, roll back, panic.

Each returns a candidate table (version 0); publishing validates it and swaps the pointer.
"""

from __future__ import annotations

from collections.abc import Mapping

from strangler_proxy.controlplane.errors import BadRequest, NotFound
from strangler_proxy.routes import LEGACY, ActionMode, RouteTable, Rule, RuleAction, Upstream

__all__ = ["all_to_legacy", "flip_route", "insert_route", "remove_route", "route_from", "route_to_legacy"]


def _require_rule(table: RouteTable, name: str) -> Rule:
    rule = table.rule(name)
    if rule is None:
        raise NotFound(f"route {name!r} is not in version {table.version}")
    return rule


def _replace_rule(table: RouteTable, name: str, rule: Rule | None) -> tuple[Rule, ...]:
    if rule is None:
        return tuple(r for r in table.rules if r.name != name)
    return tuple(rule if r.name == name else r for r in table.rules)


def _with_upstream(
    table: RouteTable, registry: Mapping[str, Upstream], name: str | None
) -> dict[str, Upstream]:
    """The table's upstreams as the registry has them now, plus ``name``."""
    upstreams = {key: registry.get(key, upstream) for key, upstream in table.upstreams.items()}
    if name is not None and name != LEGACY:
        known = registry.get(name)
        if known is None:
            raise NotFound(f"upstream {name!r} is not registered")
        upstreams[name] = known
    return upstreams


def _prune_upstreams(upstreams: dict[str, Upstream], rules: tuple[Rule, ...]) -> dict[str, Upstream]:
    """Keep legacy and every upstream a rule still names."""
    used = {LEGACY} | {r.action.upstream for r in rules if r.action.upstream}
    return {name: u for name, u in upstreams.items() if name in used}


def _legacy_action(rule: Rule) -> RuleAction:
    return rule.action.model_copy(update={"mode": ActionMode.LEGACY, "upstream": None, "weight": 0})


def flip_route(
    table: RouteTable,
    registry: Mapping[str, Upstream],
    name: str,
    *,
    mode: ActionMode,
    weight: int | None = None,
    upstream: str | None = None,
    mirror_unsafe_methods: bool | None = None,
) -> RouteTable:
    """Set the mode of route ``name``; the new upstream defaults to the one it already names, and the
    shadow's mirroring of unsafe methods to the rule's own (``mirror_unsafe_methods`` None)."""
    rule = _require_rule(table, name)
    if mode is ActionMode.LEGACY:
        action = _legacy_action(rule)
    else:
        target = upstream or rule.action.upstream
        if target is None:
            raise BadRequest(f"route {name!r} names no new upstream; give one to flip it to {mode.value}")
        chosen = (rule.action.weight if weight is None else weight) if mode is ActionMode.CANARY else 0
        if not 0 <= chosen <= 100:
            raise BadRequest(f"weight must be between 0 and 100 (got {chosen})")
        action = rule.action.model_copy(update={"mode": mode, "upstream": target, "weight": chosen})
    if mirror_unsafe_methods is not None:
        shadow = action.shadow.model_copy(update={"mirror_unsafe_methods": mirror_unsafe_methods})
        action = action.model_copy(update={"shadow": shadow})
    new_rule = rule.model_copy(update={"action": RuleAction.model_validate(action.model_dump())})
    rules = _replace_rule(table, name, new_rule)
    upstreams = _with_upstream(table, registry, new_rule.action.upstream)
    return RouteTable(upstreams=_prune_upstreams(upstreams, rules), rules=rules)


def route_to_legacy(table: RouteTable, name: str) -> RouteTable:
    """Send route ``name`` back to legacy."""
    rule = _require_rule(table, name)
    new_rule = rule.model_copy(update={"action": _legacy_action(rule)})
    rules = _replace_rule(table, name, new_rule)
    return RouteTable(upstreams=_prune_upstreams(dict(table.upstreams), rules), rules=rules)


def route_from(table: RouteTable, previous: RouteTable, name: str) -> RouteTable:
    """Route ``name`` as it was in ``previous`` (removed when ``previous`` did not have it)."""
    _require_rule(table, name)
    old = previous.rule(name)
    rules = _replace_rule(table, name, old)
    upstreams = dict(table.upstreams)
    if old is not None and old.action.upstream and old.action.upstream in previous.upstreams:
        upstreams.setdefault(old.action.upstream, previous.upstreams[old.action.upstream])
    return RouteTable(upstreams=_prune_upstreams(upstreams, rules), rules=rules)


def all_to_legacy(table: RouteTable) -> RouteTable:
    """Panic: every route to legacy; the rules stay so that each can be flipped back."""
    rules = tuple(r.model_copy(update={"action": _legacy_action(r)}) for r in table.rules)
    return RouteTable(upstreams=_prune_upstreams(dict(table.upstreams), rules), rules=rules)


def insert_route(
    table: RouteTable, registry: Mapping[str, Upstream], rule: Rule, *, position: int | None = None
) -> RouteTable:
    """Add ``rule`` at ``position`` (default: last)."""
    if table.rule(rule.name) is not None:
        raise BadRequest(f"route {rule.name!r} already exists")
    rules = list(table.rules)
    rules.insert(len(rules) if position is None else max(0, min(position, len(rules))), rule)
    upstreams = _with_upstream(table, registry, rule.action.upstream)
    return RouteTable(upstreams=upstreams, rules=tuple(rules))


def remove_route(table: RouteTable, name: str) -> RouteTable:
    _require_rule(table, name)
    rules = _replace_rule(table, name, None)
    return RouteTable(upstreams=_prune_upstreams(dict(table.upstreams), rules), rules=rules)
