"""Stage positions read from a route table, and the table one step up or down."""

from __future__ import annotations

import pytest

from migration_plan.plan.state import NOT_STARTED, apply_step, stage_position
from strangler_proxy.routes import ActionMode, RouteTable, Rule, RuleAction, RuleMatch, Upstream

pytestmark = pytest.mark.unit

LEGACY = {"legacy": Upstream(name="legacy", url="http://127.0.0.1:8100")}
CATALOG = Upstream(name="catalog", url="http://127.0.0.1:8201")


def table(*rules: Rule) -> RouteTable:
    upstreams = dict(LEGACY)
    if any(r.action.upstream == "catalog" for r in rules):
        upstreams["catalog"] = CATALOG
    return RouteTable(upstreams=upstreams, rules=rules)


def rule(name: str, path: str, mode: ActionMode, weight: int = 0) -> Rule:
    upstream = None if mode is ActionMode.LEGACY else "catalog"
    return Rule(
        name=name,
        match=RuleMatch(path=path),
        action=RuleAction(mode=mode, upstream=upstream, weight=weight),
    )


def test_absent_rules_mean_not_started(small_plan) -> None:
    position = stage_position(small_plan.stage("catalog-reads"), table())
    assert position.index == NOT_STARTED
    assert position.label == "not started"
    assert position.next_step is not None and position.next_step.label == "shadow"


def test_each_step_is_recognised_from_mode_and_weight(small_plan) -> None:
    stage = small_plan.stage("catalog-reads")
    for index in range(len(stage.steps)):
        candidate = apply_step(table(), stage, index, CATALOG)
        position = stage_position(stage, candidate)
        assert position.index == index and position.consistent
    assert stage_position(stage, apply_step(table(), stage, 3, CATALOG)).complete


def test_new_rules_go_in_front_of_existing_ones_in_stage_order(small_plan) -> None:
    front = apply_step(table(), small_plan.stage("front-door"), 0, None)
    assert [r.name for r in front.rules] == ["front-door"]
    assert front.rules[0].action.mode is ActionMode.LEGACY
    reads = apply_step(front, small_plan.stage("catalog-reads"), 0, CATALOG)
    assert [r.name for r in reads.rules] == ["api-reads", "pages", "front-door"]
    assert reads.rules[0].action.mode is ActionMode.SHADOW
    assert reads.rules[0].match.methods == frozenset({"GET", "HEAD"})
    assert reads.upstreams["catalog"] == CATALOG


def test_stepping_keeps_a_rule_in_place_and_its_other_settings(small_plan) -> None:
    stage = small_plan.stage("catalog-reads")
    start = apply_step(table(rule("x", "/x", ActionMode.LEGACY)), stage, 1, CATALOG)
    up = apply_step(start, stage, 2, CATALOG)
    assert [r.name for r in up.rules] == ["api-reads", "pages", "x"]
    assert up.rule("pages").action.weight == 50
    down = apply_step(up, stage, NOT_STARTED, None)
    assert [r.name for r in down.rules] == ["x"]
    assert stage_position(stage, down).index == NOT_STARTED


def test_a_passthrough_stage_rolled_back_loses_its_rule(small_plan) -> None:
    stage = small_plan.stage("front-door")
    on = apply_step(table(rule("x", "/x", ActionMode.LEGACY)), stage, 0, None)
    assert stage_position(stage, on).label == "passthrough"
    off = apply_step(on, stage, NOT_STARTED, None)
    assert [r.name for r in off.rules] == ["x"] and stage_position(stage, off).label == "not started"


def test_a_manual_flip_off_the_ladder_is_off_plan(small_plan) -> None:
    stage = small_plan.stage("catalog-reads")
    manual = table(
        rule("api-reads", "/api/products", ActionMode.CANARY, weight=10),
        rule("pages", "/products/", ActionMode.CANARY, weight=5),
    )
    position = stage_position(stage, manual)
    assert [r.route for r in position.off_plan] == ["api-reads"]
    assert not position.consistent
    assert position.routes[0].index == 1  # canary 5% is the closest step below canary 10%


def test_routes_on_different_steps_report_the_lowest(small_plan) -> None:
    stage = small_plan.stage("catalog-reads")
    mixed = table(
        rule("api-reads", "/api/products", ActionMode.CANARY, weight=50),
        rule("pages", "/products/", ActionMode.SHADOW),
    )
    position = stage_position(stage, mixed)
    assert position.index == 0 and not position.consistent and not position.off_plan


def test_a_new_rule_never_goes_behind_a_rule_of_no_stage_that_would_take_its_requests(small_plan) -> None:
    by_hand = Rule(name="everything", match=RuleMatch(path="/"), action=RuleAction())
    unrelated = Rule(name="reports", match=RuleMatch(path="/reports"), action=RuleAction())
    reads = apply_step(
        table(unrelated, by_hand), small_plan.stage("catalog-reads"), 0, CATALOG, earlier_rules=frozenset()
    )
    assert [r.name for r in reads.rules] == ["reports", "api-reads", "pages", "everything"]
