"""The plan file: the shipped LegacyShop plan, and clear refusals of malformed plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_plan.plan import PlanError, load_plan, parse_plan

pytestmark = pytest.mark.unit


def test_legacyshop_plan_has_the_four_stages_in_order(root: Path) -> None:
    plan = load_plan(root / "plans" / "legacyshop.yaml")
    assert [s.name for s in plan.stages] == ["front-door", "catalog-reads", "catalog-writes", "orders"]
    reads = plan.stage("catalog-reads")
    assert [s.label for s in reads.steps] == [
        "shadow",
        "canary 5%",
        "canary 25%",
        "canary 50%",
        "canary 100%",
        "retire",
    ]
    assert reads.steps[1].gates.shadow is not None
    assert plan.stage("catalog-writes").steps[0].gates.sync_lag is not None
    assert not plan.stage("front-door").migrates
    assert set(plan.upstreams) == {"catalog", "orders"}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("[{kind: canary}]", "needs a weight"),
        ("[{kind: shadow, weight: 5}]", "only canary steps take a weight"),
        ("[{kind: canary, weight: 50}, {kind: canary, weight: 5}]", "steps must climb"),
        ("[{kind: retire}, {kind: shadow}]", "steps must climb"),
        ("[{kind: teleport}]", "steps.0.kind"),
    ],
)
def test_malformed_ladders_are_refused_with_the_reason(steps: str, message: str) -> None:
    text = f"""
name: p
stages:
  - name: s
    upstream: catalog
    routes: [{{name: r, match: {{path: /x}}}}]
    steps: {steps}
"""
    with pytest.raises(PlanError, match=message):
        parse_plan(text)


def test_a_stage_that_migrates_needs_an_upstream() -> None:
    text = "name: p\nstages: [{name: s, routes: [{name: r, match: {path: /x}}], steps: [{kind: shadow}]}]"
    with pytest.raises(PlanError, match="need an upstream"):
        parse_plan(text)


def test_route_names_are_unique_across_stages() -> None:
    stage = "{{name: {n}, routes: [{{name: same, match: {{path: /x}}}}], steps: [{{kind: passthrough}}]}}"
    text = f"name: p\nstages: [{stage.format(n='a')}, {stage.format(n='b')}]"
    with pytest.raises(PlanError, match="route names must be unique: same"):
        parse_plan(text)


def test_unknown_keys_and_bad_yaml_are_errors(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="Extra inputs"):
        parse_plan("name: p\nstagez: []\nstages: []")
    with pytest.raises(PlanError, match="not valid YAML"):
        parse_plan("name: [")
    with pytest.raises(PlanError, match="cannot read plan"):
        load_plan(tmp_path / "missing.yaml")


def test_unknown_stage_lookup_names_the_known_ones(small_plan) -> None:
    with pytest.raises(PlanError, match="front-door, catalog-reads"):
        small_plan.stage("orders")
