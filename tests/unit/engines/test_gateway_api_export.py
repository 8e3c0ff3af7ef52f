"""Gateway API export: every HTTPRoute validates against the vendored CRD schema (v1.6.1, standard
channel), the table's routing maps onto matches, weights and mirrors, and what cannot be expressed
faithfully is refused, rule by rule."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml

from migration_plan.cli.export_commands import render_yaml
from strangler_proxy.engines.gateway_api import ExportOptions, ExportRefused, export_table
from strangler_proxy.routes import (
    FaultInjection,
    Predicate,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    ShadowSettings,
    Upstream,
    WriteFence,
)
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

CRD = ROOT / "vendor" / "gateway-api" / "v1.6.1" / "standard" / "gateway.networking.k8s.io_httproutes.yaml"
UPSTREAMS = {
    "legacy": Upstream(name="legacy", url="http://legacy.shop.svc:8100"),
    "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
    "orders_v2": Upstream(name="orders_v2", url="https://orders.example.com"),
}


@cache
def validator() -> jsonschema.Draft7Validator:
    crd = yaml.safe_load(CRD.read_text())
    assert crd["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] == "v1.6.1"
    assert crd["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "standard"
    [v1] = [version for version in crd["spec"]["versions"] if version["name"] == "v1"]
    return jsonschema.Draft7Validator(v1["schema"]["openAPIV3Schema"])


def routes_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == "HTTPRoute"]


def shop_table() -> RouteTable:
    return RouteTable(
        version=12,
        upstreams=UPSTREAMS,
        rules=(
            Rule(name="health", match=RuleMatch(kind="exact", path="/healthz")),
            Rule(
                name="products",
                match=RuleMatch(
                    path="/api/products", methods={"GET", "HEAD"}, cookies=(Predicate(name="ab", equals="b"),)
                ),
                action=RuleAction(mode="canary", upstream="catalog", weight=25),
            ),
            Rule(
                name="beta_api",
                match=RuleMatch(path="/api/", headers=(Predicate(name="X-Beta", equals="1"),)),
                action=RuleAction(mode="new", upstream="catalog"),
            ),
            Rule(
                name="items",
                match=RuleMatch(kind="pattern", path=r"/orders/\d+/items"),
                action=RuleAction(
                    mode="shadow", upstream="orders_v2", shadow=ShadowSettings(sample_percent=12.5)
                ),
            ),
            Rule(
                name="flag",
                match=RuleMatch(path="/flags", headers=(Predicate(name="X-Flag"),)),
                action=RuleAction(mode="new", upstream="orders_v2"),
            ),
        ),
    )


def test_every_exported_route_validates_against_the_vendored_schema() -> None:
    objects = export_table(
        shop_table(), ExportOptions(namespace="shop", hostnames=("shop.example.com",))
    ).objects
    routes = routes_of(objects)
    assert routes
    for route in routes:
        errors = sorted(validator().iter_errors(route), key=str)
        assert not errors, [error.message for error in errors]


def test_the_schema_check_catches_what_the_api_server_would_refuse() -> None:
    [route] = routes_of(export_table(shop_table()).objects)
    broken = copy.deepcopy(route)
    broken["spec"]["rules"][1]["backendRefs"][0]["weight"] = 1_000_001
    broken["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    messages = [error.message for error in validator().iter_errors(broken)]
    assert any("1000001" in m for m in messages) and any("'Prefix'" in m for m in messages)


def test_matches_backends_mirrors_and_the_catch_all() -> None:
    [route] = routes_of(export_table(shop_table()).objects)
    health, products, beta, items, flag, catch_all = route["spec"]["rules"]
    assert health["matches"] == [{"path": {"type": "Exact", "value": "/healthz"}}]
    assert health["backendRefs"] == [{"name": "legacy", "port": 8100}]
    assert beta["matches"] == [
        {
            "path": {"type": "PathPrefix", "value": "/api"},
            "headers": [{"type": "Exact", "name": "X-Beta", "value": "1"}],
        }
    ]
    assert beta["name"] == "beta-api" and beta["backendRefs"] == [{"name": "catalog", "port": 8201}]
    assert [m["method"] for m in products["matches"]] == ["GET", "HEAD"]
    assert products["matches"][0]["headers"] == [
        {"type": "RegularExpression", "name": "Cookie", "value": r"(^|;\s*)ab=b(;|$)"}
    ]
    assert products["backendRefs"] == [
        {"name": "legacy", "port": 8100, "weight": 75},
        {"name": "catalog", "port": 8201, "weight": 25},
    ]
    assert items["matches"] == [{"path": {"type": "RegularExpression", "value": r"/orders/\d+/items"}}]
    assert items["backendRefs"] == [{"name": "legacy", "port": 8100}]
    mirror = [f for f in items["filters"] if f["type"] == "RequestMirror"]
    assert mirror == [
        {
            "type": "RequestMirror",
            "requestMirror": {
                "backendRef": {"name": "up-orders-v2", "port": 443},
                "fraction": {"numerator": 1250, "denominator": 10000},
            },
        }
    ]
    assert flag["matches"][0]["headers"] == [{"type": "RegularExpression", "name": "X-Flag", "value": ".*"}]
    assert catch_all == {
        "name": "legacy-catch-all",
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {
                    "remove": ["x-strangler-identity", "x-strangler-override", "x-strangler-shadow"]
                },
            }
        ],
        "backendRefs": [{"name": "legacy", "port": 8100}],
    }
    assert all(rule["filters"][0]["type"] == "RequestHeaderModifier" for rule in route["spec"]["rules"])


def test_a_service_stub_per_upstream_with_the_port_the_routes_use() -> None:
    objects = export_table(shop_table(), ExportOptions(namespace="shop")).objects
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert set(services) == {"legacy", "catalog", "up-orders-v2"}
    assert services["up-orders-v2"]["spec"]["ports"] == [
        {"name": "http", "port": 443, "targetPort": 443, "protocol": "TCP"}
    ]
    assert (
        services["catalog"]["metadata"]["annotations"]["strangler-fig/upstream-url"]
        == "http://127.0.0.1:8201"
    )
    assert {o["metadata"]["namespace"] for o in objects} == {"shop"}


def test_what_a_cluster_loses_is_noted() -> None:
    notes = " ".join(export_table(shop_table()).notes)
    for lost in (
        "per request, not per user",
        "split writes too",
        "no fallback",
        "X-Strangler-Identity",
        "overrides",
        "compares",
    ):
        assert lost in notes


def test_a_handovers_write_fence_the_gateway_cannot_hold_is_noted_with_its_route() -> None:
    table = shop_table()
    assert not any("fenced" in note for note in export_table(table).notes)
    fenced = tuple(
        rule.model_copy(update={"fence": WriteFence(until=1_700_000_000.0)}) if rule.name == "flag" else rule
        for rule in table.rules
    )
    notes = export_table(table.model_copy(update={"rules": fenced})).notes
    assert any("writes on flag are fenced" in note for note in notes), notes


def test_an_order_the_gateway_would_not_keep_is_refused() -> None:
    table = RouteTable(
        upstreams=UPSTREAMS,
        rules=(
            Rule(name="api", match=RuleMatch(path="/api"), action=RuleAction(mode="new", upstream="catalog")),
            Rule(name="api-items", match=RuleMatch(path="/api/items")),
        ),
    )
    with pytest.raises(ExportRefused) as caught:
        export_table(table)
    [problem] = caught.value.problems
    assert "'api'" in problem and "'api-items'" in problem and "more specific" in problem
    same_place = table.model_copy(
        update={
            "rules": (table.rules[0], table.rules[1].model_copy(update={"action": table.rules[0].action}))
        }
    )
    assert routes_of(export_table(same_place).objects)


def test_a_regular_expression_overlapping_a_rule_that_sends_elsewhere_is_refused() -> None:
    table = RouteTable(
        upstreams=UPSTREAMS,
        rules=(
            Rule(
                name="items",
                match=RuleMatch(kind="pattern", path=r"/api/\w+"),
                action=RuleAction(mode="new", upstream="catalog"),
            ),
            Rule(
                name="orders",
                match=RuleMatch(path="/api/orders"),
                action=RuleAction(mode="new", upstream="orders_v2"),
            ),
        ),
    )
    with pytest.raises(ExportRefused) as caught:
        export_table(table)
    assert "regular-expression" in caught.value.problems[0]


def test_faults_and_two_cookie_conditions_are_refused() -> None:
    table = RouteTable(
        upstreams=UPSTREAMS,
        rules=(
            Rule(name="drill", match=RuleMatch(path="/drill"), fault=FaultInjection(abort_status=503)),
            Rule(
                name="cookies", match=RuleMatch(path="/c", cookies=(Predicate(name="a"), Predicate(name="b")))
            ),
        ),
    )
    with pytest.raises(ExportRefused) as caught:
        export_table(table)
    assert len(caught.value.problems) == 2
    assert "fault injection" in caught.value.problems[0] and "cookie" in caught.value.problems[1]


def test_more_than_sixteen_rules_spread_over_routes_in_table_order() -> None:
    rules = tuple(
        Rule(
            name=f"area-{n:02d}",
            match=RuleMatch(path=f"/area-{n:02d}"),
            action=RuleAction(mode="new", upstream="catalog"),
        )
        for n in range(40)
    )
    routes = routes_of(export_table(RouteTable(upstreams=UPSTREAMS, rules=rules)).objects)
    assert [len(r["spec"]["rules"]) for r in routes] == [16, 16, 9]
    assert [r["metadata"]["name"] for r in routes] == [
        "strangler-routes-1",
        "strangler-routes-2",
        "strangler-routes-3",
    ]
    names = [rule["name"] for route in routes for rule in route["spec"]["rules"]]
    assert names == [f"area-{n:02d}" for n in range(40)] + ["legacy-catch-all"]
    for route in routes:
        assert not list(validator().iter_errors(route))


def test_the_yaml_file_reads_back_as_the_objects() -> None:
    export = export_table(shop_table())
    text = render_yaml(export, version=12)
    assert text.startswith("# Generated by `strangler export gateway-api` from route table version 12")
    assert list(yaml.safe_load_all(text)) == export.objects
