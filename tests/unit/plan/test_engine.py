"""The engine against an in-memory admin API: advance, gates, --force, dry run, rollback."""

from __future__ import annotations

import pytest

from migration_plan.plan import PlanEngine, PlanError, load_plan
from strangler_proxy.routes import ActionMode, RouteTable, Rule, RuleAction, RuleMatch, Upstream
from tests.unit.plan.fakes import FakeAdmin

pytestmark = pytest.mark.unit


def shadow_stats(matches: int) -> list[dict]:
    empty = {"requests": 0, "status_5xx": 0, "p99_ms": None}
    return [
        {
            "route": name,
            "legacy": empty,
            "new": empty,
            "shadow": {"matches": matches, "mismatches": 0, "errors": 0},
        }
        for name in ("api-reads", "pages")
    ]


def test_advance_walks_the_stages_in_order_with_the_step_as_reason(small_plan) -> None:
    admin = FakeAdmin(registry={"catalog": "http://127.0.0.1:8201"})
    engine = PlanEngine(small_plan, admin)  # type: ignore[arg-type]
    first = engine.advance()
    assert first.published and first.stage == "front-door" and first.after == "passthrough"
    second = engine.advance()
    assert second.stage == "catalog-reads" and second.after == "shadow"
    assert second.changes == ("api-reads: absent -> shadow", "pages: absent -> shadow")
    assert admin.reasons[1:] == [
        "plan small: stage front-door not started -> passthrough",
        "plan small: stage catalog-reads not started -> shadow",
    ]
    assert [r.name for r in admin.active.rules] == ["api-reads", "pages", "front-door"]


def test_failing_gates_block_and_force_goes_past_them_on_the_record(small_plan) -> None:
    admin = FakeAdmin(registry={"catalog": "http://127.0.0.1:8201"})
    engine = PlanEngine(small_plan, admin)  # type: ignore[arg-type]
    engine.advance(stage="catalog-reads")
    admin.stats = shadow_stats(matches=3)  # 6 samples < 10
    blocked = engine.advance(stage="catalog-reads")
    assert blocked.blocked and blocked.published is None
    assert [g.gate for g in blocked.failing_gates] == ["shadow"]
    assert len(admin.versions) == 2
    forced = engine.advance(stage="catalog-reads", force=True)
    assert forced.published and forced.forced_past == ("shadow",)
    assert admin.reasons[-1].endswith("shadow -> canary 5% [forced past failing gates: shadow]")


def test_passing_gates_publish(small_plan) -> None:
    admin = FakeAdmin(registry={"catalog": "http://127.0.0.1:8201"})
    engine = PlanEngine(small_plan, admin)  # type: ignore[arg-type]
    engine.advance(stage="catalog-reads")
    admin.stats = shadow_stats(matches=10)
    change = engine.advance(stage="catalog-reads")
    assert change.published and not change.forced_past and change.gates[0].passed
    assert admin.active.rule("pages").action.weight == 5


def test_dry_run_publishes_nothing_and_does_not_register(small_plan) -> None:
    admin = FakeAdmin()
    engine = PlanEngine(small_plan, admin)  # type: ignore[arg-type]
    preview = engine.advance(stage="catalog-reads", dry_run=True)
    assert preview.dry_run and preview.published is None and not preview.problems
    assert preview.notes == (
        "upstream catalog is not registered yet: advance registers it at http://127.0.0.1:8201",
    )
    assert preview.diff["added_rules"] == ["api-reads", "pages"]
    assert admin.registry == {} and len(admin.versions) == 1
    real = engine.advance(stage="catalog-reads")
    assert real.published and admin.registry == {"catalog": "http://127.0.0.1:8201"}


def test_rollback_goes_one_step_down_for_the_last_started_stage(small_plan) -> None:
    admin = FakeAdmin(registry={"catalog": "http://127.0.0.1:8201"})
    engine = PlanEngine(small_plan, admin)  # type: ignore[arg-type]
    engine.advance()
    engine.advance()
    engine.advance(force=True)
    back = engine.rollback(why="drill")
    assert back.stage == "catalog-reads" and (back.before, back.after) == ("canary 5%", "shadow")
    assert admin.reasons[-1] == "plan small: rollback stage catalog-reads canary 5% -> shadow (drill)"
    engine.rollback()
    status = engine.status()
    assert [s.position.label for s in status.stages] == ["passthrough", "not started"]


def test_status_evaluates_the_next_step_gates(small_plan) -> None:
    admin = FakeAdmin(registry={"catalog": "http://127.0.0.1:8201"})
    engine = PlanEngine(small_plan, admin)  # type: ignore[arg-type]
    engine.advance(stage="catalog-reads")
    admin.stats = shadow_stats(matches=2)
    status = engine.status().to_dict()
    reads = status["stages"][1]
    assert reads["step"] == "shadow" and reads["next"] == "canary 5%"
    assert reads["gates"][0]["gate"] == "shadow" and reads["gates"][0]["passed"] is False
    assert status["stages"][0]["gates"] == []


def test_nothing_to_do_is_an_error(small_plan) -> None:
    engine = PlanEngine(small_plan, FakeAdmin())  # type: ignore[arg-type]
    with pytest.raises(PlanError, match="nothing to roll back"):
        engine.rollback()
    engine.advance()
    with pytest.raises(PlanError, match="stage front-door is complete"):
        engine.advance(stage="front-door")


def test_an_unknown_upstream_without_address_is_explained(small_plan) -> None:
    plan = small_plan.model_copy(update={"upstreams": {}})
    engine = PlanEngine(plan, FakeAdmin())  # type: ignore[arg-type]
    with pytest.raises(PlanError, match="strangler routes register catalog"):
        engine.advance(stage="catalog-reads")


WRITES_PLAN = """
name: writes
upstreams: {catalog: "http://127.0.0.1:8201"}
stages:
  - name: writes
    upstream: catalog
    routes: [{name: stock, match: {kind: pattern, path: '^/api/products/[0-9]+/stock$', methods: [POST]}}]
    steps:
      - kind: canary
        weight: 50
        gates: {sync_lag: {directions: [reverse]}}
"""


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def writes_engine(backlogs: list[int]) -> tuple[PlanEngine, FakeAdmin]:
    from migration_plan.plan import parse_plan

    admin = FakeAdmin(registry={"catalog": "http://127.0.0.1:8201"})
    fake_time = FakeTime()

    def lag():
        backlog = backlogs.pop(0) if len(backlogs) > 1 else backlogs[0]
        return {"forward": {"lag_ms": 0, "backlog": 99}, "reverse": {"lag_ms": 10.0, "backlog": backlog}}

    engine = PlanEngine(
        parse_plan(WRITES_PLAN), admin, sync_lag=lag, clock=fake_time.clock, sleep=fake_time.sleep
    )  # type: ignore[arg-type]
    return engine, admin


def test_rollback_of_a_data_moving_stage_waits_for_the_sync_backlog_to_drain() -> None:
    engine, admin = writes_engine([0])
    engine.advance()
    backlogs = [3, 2, 0]
    engine.sync_lag = lambda: {"reverse": {"lag_ms": 5.0, "backlog": backlogs.pop(0)}}
    back = engine.rollback(drain_timeout_s=5)
    assert back.published and back.notes == ("sync: reverse backlog 0",) and backlogs == []
    assert admin.reasons[-1] == "plan writes: rollback stage writes canary 50% -> not started"


def test_rollback_refuses_while_sync_lags_unless_forced() -> None:
    engine, admin = writes_engine([0])
    engine.advance()
    engine.sync_lag = lambda: {"reverse": {"lag_ms": 900.0, "backlog": 4}}
    with pytest.raises(PlanError, match=r"sync not drained after 2 s \(reverse backlog 4\)"):
        engine.rollback(drain_timeout_s=2)
    assert len(admin.versions) == 2
    forced = engine.rollback(drain_timeout_s=2, force=True, why="panic")
    assert forced.published
    assert admin.reasons[-1].endswith("(panic; forced before sync drained: reverse backlog 4)")


def _hand_made_walkthrough_table() -> RouteTable:
    """What the old walkthrough left: rules made by hand, one defined otherwise than the plan does."""
    upstreams = {
        "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
        "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
        "orders": Upstream(name="orders", url="http://127.0.0.1:8202"),
    }
    reads = Rule(
        name="catalog-api-reads",
        match=RuleMatch(kind="pattern", path="/api/products(/[0-9]+)?"),
        action=RuleAction(mode=ActionMode.NEW, upstream="catalog"),
    )
    orders = Rule(
        name="orders-api",
        match=RuleMatch(kind="prefix", path="/api/orders"),
        action=RuleAction(mode=ActionMode.SHADOW, upstream="orders"),
    )
    return RouteTable(version=1, upstreams=upstreams, rules=(reads, orders))


def _legacyshop_engine(root) -> tuple[PlanEngine, FakeAdmin]:  # type: ignore[no-untyped-def]
    admin = FakeAdmin(
        registry={"catalog": "http://127.0.0.1:8201", "orders": "http://127.0.0.1:8202"},
        versions=[_hand_made_walkthrough_table()],
        reasons=["by hand"],
    )
    return PlanEngine(load_plan(root / "plans" / "legacyshop.yaml"), admin), admin  # type: ignore[arg-type]


def test_status_shows_each_routes_live_mode_next_to_its_plan_step(root) -> None:
    engine, _admin = _legacyshop_engine(root)
    stages = {s["stage"]: s for s in engine.status().to_dict()["stages"]}
    reads = {r["route"]: r for r in stages["catalog-reads"]["routes"]}
    assert reads["catalog-api-reads"]["state"] == "new" and reads["catalog-api-reads"]["step"] == "retire"
    assert reads["catalog-api-reads"]["match_differs"] and not reads["catalog-api-reads"]["off_plan"]
    assert reads["catalog-pages"]["state"] == "absent" and reads["catalog-pages"]["step"] == "not started"
    orders = {r["route"]: r for r in stages["orders"]["routes"]}
    assert orders["orders-api"]["step"] == "shadow" and not orders["orders-api"]["match_differs"]


def test_a_general_stage_started_late_goes_behind_the_specific_rules(root) -> None:
    engine, admin = _legacyshop_engine(root)
    preview = engine.advance(dry_run=True)
    assert preview.stage == "front-door" and not preview.problems, preview.problems
    change = engine.advance()
    assert change.published
    assert [r.name for r in admin.active.rules] == ["catalog-api-reads", "orders-api", "front-door"]


def test_advance_never_moves_a_route_backwards_unless_allowed(root) -> None:
    engine, admin = _legacyshop_engine(root)
    engine.advance()  # front-door
    change = engine.advance(stage="catalog-reads")
    assert change.published and change.after == "shadow"
    assert admin.active.rule("catalog-api-reads").action.mode is ActionMode.NEW
    assert admin.active.rule("catalog-pages").action.mode is ActionMode.SHADOW
    assert any("catalog-api-reads stays at retire" in note for note in change.notes)
    back = engine.advance(stage="catalog-reads", dry_run=True, allow_backwards=True, force=True)
    assert "catalog-api-reads: new -> canary 5%" in back.changes


def test_a_rule_that_can_never_match_is_explained_with_the_fix(root) -> None:
    engine, admin = _legacyshop_engine(root)
    front = Rule(name="front-door", match=RuleMatch(kind="prefix", path="/"), action=RuleAction())
    table = admin.active
    admin.versions.append(RouteTable(version=2, upstreams=table.upstreams, rules=(front, *table.rules)))
    preview = engine.advance(stage="catalog-reads", dry_run=True)
    assert any("can never match" in p for p in preview.problems)
    [note] = [n for n in preview.notes if n.startswith("orders-api (stage orders) comes after front-door")]
    assert "(stage front-door)" in note and "strangler plan adopt" in note
    adopted = engine.adopt()
    assert adopted.published, adopted.problems
    names = [r.name for r in admin.active.rules]
    assert names.index("front-door") == len(names) - 1


def test_adopt_rewrites_hand_made_rules_as_the_plan_defines_them(root) -> None:
    engine, admin = _legacyshop_engine(root)
    preview = engine.adopt(dry_run=True)
    assert any(line.startswith("catalog-api-reads: match pattern") for line in preview.changes)
    change = engine.adopt()
    rule = admin.active.rule("catalog-api-reads")
    assert change.published and rule.match.path == "/api/products"
    assert rule.match.methods == frozenset({"GET", "HEAD"}) and rule.action.mode is ActionMode.NEW
    again = engine.adopt()
    assert again.published is None and "nothing to adopt" in again.notes[-1]


def test_adopt_explains_a_mode_no_step_describes(root) -> None:
    engine, admin = _legacyshop_engine(root)
    table = admin.active
    odd = table.rule("orders-api").model_copy(
        update={"action": RuleAction(mode=ActionMode.CANARY, weight=30, upstream="orders")}
    )
    admin.versions.append(RouteTable(version=2, upstreams=table.upstreams, rules=(table.rules[0], odd)))
    change = engine.adopt(dry_run=True)
    assert any("orders-api is canary 30%" in note and "canary 25%" in note for note in change.notes)
