"""Where each stage stands, read from the active route table, and the table one step up or down.

A route's position is the index of the step its rule matches (mode, weight, upstream); -1 means the
stage has not started (no rule yet, or the rule still sends everything to legacy before a first
non-passthrough step). A rule in a state no step describes (a manual flip) is *off plan*.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_plan.plan.model import RouteSpec, Stage, Step
from strangler_proxy.routes import ActionMode, RouteTable, Rule, RuleAction, RuleMatch, Upstream, covers

__all__ = [
    "NOT_STARTED",
    "RoutePosition",
    "StagePosition",
    "apply_step",
    "describe_match",
    "describe_rule",
    "route_changes",
    "stage_position",
    "step_action",
]

NOT_STARTED = -1


@dataclass(frozen=True)
class RoutePosition:
    route: str
    index: int
    """Step index, NOT_STARTED, or the closest step below when off plan."""
    state: str
    """What the rule does now: absent, legacy, shadow, canary 25%, new."""
    off_plan: bool = False
    match_differs: bool = False
    """The live rule matches other requests than the plan defines (made by hand: `plan adopt`)."""

    def step_label(self, stage: Stage) -> str:
        """The plan step this route is on, as the plan names it."""
        if self.off_plan:
            return "off plan"
        return "not started" if self.index == NOT_STARTED else stage.steps[self.index].label


@dataclass(frozen=True)
class StagePosition:
    stage: Stage
    routes: tuple[RoutePosition, ...]

    @property
    def index(self) -> int:
        """The step every route of the stage has reached."""
        return min(route.index for route in self.routes)

    @property
    def off_plan(self) -> list[RoutePosition]:
        return [route for route in self.routes if route.off_plan]

    @property
    def consistent(self) -> bool:
        return not self.off_plan and len({route.index for route in self.routes}) == 1

    @property
    def label(self) -> str:
        return "not started" if self.index == NOT_STARTED else self.stage.steps[self.index].label

    @property
    def complete(self) -> bool:
        return self.consistent and self.index == len(self.stage.steps) - 1

    @property
    def next_step(self) -> Step | None:
        following = self.index + 1
        return self.stage.steps[following] if following < len(self.stage.steps) else None


def route_changes(before: RouteTable, after: RouteTable, stage: Stage) -> tuple[str, ...]:
    """One line per route of ``stage`` whose state or match differs: ``name: shadow -> canary 5%``."""
    lines = []
    for spec in stage.routes:
        old_rule, new_rule = before.rule(spec.name), after.rule(spec.name)
        old, new = describe_rule(old_rule), describe_rule(new_rule)
        if old != new:
            lines.append(f"{spec.name}: {old} -> {new}")
        if old_rule is not None and new_rule is not None and old_rule.match != new_rule.match:
            lines.append(
                f"{spec.name}: match {describe_match(old_rule.match)} -> {describe_match(new_rule.match)}"
            )
    return tuple(lines)


def describe_rule(rule: Rule | None) -> str:
    if rule is None:
        return "absent"
    action = rule.action
    if action.mode is ActionMode.CANARY:
        return f"canary {action.weight}%"
    return action.mode.value


def _rank(kind: str, weight: int) -> tuple[int, int]:
    return ({"legacy": 0, "passthrough": 0, "shadow": 1, "canary": 2, "new": 3, "retire": 3}[kind], weight)


def _route_position(stage: Stage, rule: Rule | None) -> RoutePosition:
    name = rule.name if rule else ""
    state = describe_rule(rule)
    if rule is None:
        return RoutePosition(name, NOT_STARTED, state)
    action = rule.action
    upstream_ok = action.mode is ActionMode.LEGACY or action.upstream == stage.upstream
    for index, step in enumerate(stage.steps):
        if upstream_ok and _matches(step, action):
            return RoutePosition(name, index, state)
    if action.mode is ActionMode.LEGACY:
        return RoutePosition(name, NOT_STARTED, state)
    here = _rank(action.mode.value, action.weight if action.mode is ActionMode.CANARY else 0)
    below = [i for i, step in enumerate(stage.steps) if _rank(step.kind, step.weight or 0) < here]
    return RoutePosition(name, below[-1] if below else NOT_STARTED, state, off_plan=True)


def _matches(step: Step, action: RuleAction) -> bool:
    mode = action.mode
    if step.kind == "passthrough":
        return mode is ActionMode.LEGACY
    if step.kind == "shadow":
        return mode is ActionMode.SHADOW
    if step.kind == "canary":
        return mode is ActionMode.CANARY and action.weight == step.weight
    return mode is ActionMode.NEW


def stage_position(stage: Stage, table: RouteTable) -> StagePosition:
    positions = []
    for spec in stage.routes:
        live = table.rule(spec.name)
        position = _route_position(stage, live)
        differs = live is not None and live.match != spec.match
        positions.append(RoutePosition(spec.name, position.index, position.state, position.off_plan, differs))
    return StagePosition(stage, tuple(positions))


def describe_match(match: RuleMatch) -> str:
    """``prefix /reports/ GET,HEAD``: how a rule selects requests, in one line."""
    methods = ",".join(sorted(match.methods)) if match.methods else "any method"
    return f"{match.kind.value} {match.path} {methods}"


def step_action(stage: Stage, spec: RouteSpec, index: int, base: RuleAction | None = None) -> RuleAction:
    """The rule action of ``spec`` at step ``index`` (NOT_STARTED: legacy), keeping ``base``'s extras."""
    base = base or RuleAction()
    if index == NOT_STARTED or stage.steps[index].kind == "passthrough":
        return base.model_copy(update={"mode": ActionMode.LEGACY, "upstream": None, "weight": 0})
    step = stage.steps[index]
    shadow = base.shadow.model_copy(
        update={
            "mirror_unsafe_methods": spec.mirror_unsafe_methods,
            "ignore_json_paths": spec.ignore_json_paths,
        }
    )
    mode = {"shadow": ActionMode.SHADOW, "canary": ActionMode.CANARY, "retire": ActionMode.NEW}[step.kind]
    return base.model_copy(
        update={"mode": mode, "upstream": stage.upstream, "weight": step.weight or 0, "shadow": shadow}
    )


def apply_step(
    table: RouteTable,
    stage: Stage,
    index: int,
    upstream: Upstream | None,
    *,
    earlier_rules: frozenset[str] | None = None,
    keep_ahead: bool = False,
) -> RouteTable:
    """A candidate table with every route of ``stage`` at step ``index`` (NOT_STARTED: rules removed).

    Rules the table lacks are added as one block, in the stage's order, in front of the first rule that
    belongs to an earlier stage (``earlier_rules``; None: in front of every rule), or that would take
    every request one of them matches (a rule of no stage of this plan): stages run from
    general (the front door) to specific, so a later stage's rules must match first, and a general
    stage started late goes behind the specific rules already there. ``keep_ahead`` leaves a route
    that is already past ``index`` where it is (an advance never moves a route backwards).
    """
    upstreams = dict(table.upstreams)
    if index == NOT_STARTED:
        owned = {spec.name for spec in stage.routes}
        return RouteTable(upstreams=upstreams, rules=tuple(r for r in table.rules if r.name not in owned))
    new_rules: list[Rule] = []
    replaced: dict[str, Rule] = {}
    for spec in stage.routes:
        existing = table.rule(spec.name)
        target = index
        if keep_ahead and existing is not None:
            here = _route_position(stage, existing)
            target = max(index, here.index) if not here.off_plan else index
        action = step_action(stage, spec, target, existing.action if existing else None)
        if existing is None:
            new_rules.append(Rule(name=spec.name, match=spec.match, action=action))
        else:
            replaced[spec.name] = existing.model_copy(update={"match": spec.match, "action": action})
    kept = [replaced.get(rule.name, rule) for rule in table.rules]
    at = 0
    if earlier_rules is not None:
        # In front of the first rule of an earlier stage, and never behind a rule (of no stage of this
        # plan, say one made by hand) that would take every request a new rule would.
        at = next(
            (
                i
                for i, rule in enumerate(kept)
                if rule.name in earlier_rules or any(covers(rule, new) for new in new_rules)
            ),
            len(kept),
        )
    rules = tuple(kept[:at]) + tuple(new_rules) + tuple(kept[at:])
    if upstream is not None:
        upstreams[upstream.name] = upstream
    return RouteTable(upstreams=upstreams, rules=rules)
