"""The part of a route table HAProxy reads per request from a map: each rule's action, and the version.

    <rule name> <mode>|<new upstream or ->|<canary threshold>|<fallback>|<read timeout ms>|<max body bytes>
                |<write fence until, epoch s, or 0>|<fence's Retry-After s>
    VERSION <version id>            (upper-case keys never collide with a rule name)
    GENERATION <pointer generation>
    READY 1                         (0 while the engine serves its start-up table, not one from the store)

A publish that changes only actions (a flip, a weight, a rollback, a panic, a handover's write fence
put up or lifted) replaces this map in one
atomic commit through the runtime API: no reload, no connection touched. The threshold is
``weight * 100``: a user is on the new side iff ``bucket < threshold`` (see
``strangler_proxy.routes.canary``). A fence's end is rounded up to the whole second (HAProxy's clock,
``date``, counts whole seconds): one the control plane never lifts holds at most a second longer.
"""

from __future__ import annotations

import math

from strangler_proxy.routes import ActionMode, RouteTable, Rule
from strangler_proxy.routes.canary import BUCKETS

__all__ = ["DEFAULT_ACTION", "GENERATION_KEY", "READY_KEY", "VERSION_KEY", "map_entries", "render_map"]

VERSION_KEY = "VERSION"
GENERATION_KEY = "GENERATION"
READY_KEY = "READY"
DEFAULT_ACTION = "legacy|-|0|0|30000|10485760|0|1"
"""What an unmatched request gets: the legacy, with the model's default timeout and body limit."""


def _action(rule: Rule) -> str:
    action = rule.action
    mode = action.mode
    if mode is ActionMode.SHADOW:
        mode = ActionMode.LEGACY  # the legacy answers a shadow rule; the engine mirrors nothing
    threshold = action.weight * (BUCKETS // 100) if mode is ActionMode.CANARY else 0
    fallback = 1 if action.fallback == "legacy" else 0
    upstream = action.upstream if mode is not ActionMode.LEGACY and action.upstream else "-"
    read_ms = round(rule.timeouts.read_s * 1000)
    fence = rule.fence
    fenced = f"{math.ceil(fence.until)}|{fence.retry_after_s}" if fence is not None else "0|1"
    return f"{mode.value}|{upstream}|{threshold}|{fallback}|{read_ms}|{rule.max_body_bytes}|{fenced}"


def map_entries(table: RouteTable, *, generation: int, ready: bool) -> list[tuple[str, str]]:
    """The map's (key, value) pairs, rules in table order, then the version keys."""
    entries = [(rule.name, _action(rule)) for rule in table.rules]
    entries += [
        (VERSION_KEY, str(table.version)),
        (GENERATION_KEY, str(generation)),
        (READY_KEY, "1" if ready else "0"),
    ]
    return entries


def render_map(entries: list[tuple[str, str]]) -> str:
    return "".join(f"{key} {value}\n" for key, value in entries)
