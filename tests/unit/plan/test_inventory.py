"""Inventory: sample paths, match semantics, claims per method, shares, unclaimed routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_plan.inventory import (
    InventoryError,
    build_inventory,
    match_accepts,
    parse_urlconf,
    read_urlconf_file,
    sample_path,
)
from migration_plan.plan import load_plan
from strangler_proxy.routes import RuleMatch

pytestmark = pytest.mark.unit

URLCONF = [
    {"pattern": "/", "name": "catalog:home", "methods": ["GET", "HEAD"], "view": "v"},
    {
        "pattern": "/products/<int:pk>/",
        "name": "catalog:product_detail",
        "methods": ["GET", "HEAD"],
        "view": "v",
    },
    {"pattern": "/cart/", "name": "orders:cart", "methods": ["GET", "HEAD"], "view": "v"},
    {"pattern": "/api/products/<int:pk>/stock", "name": "stock", "methods": ["POST"], "view": "v"},
    {
        "pattern": "/api/orders",
        "name": "orders_api:order_list",
        "methods": ["GET", "HEAD", "POST"],
        "view": "v",
    },
    {"pattern": "/healthz", "name": "health:healthz", "methods": ["GET"], "view": "v"},
    {"pattern": "/static/(?P<path>.*)", "name": "static", "methods": None, "view": "v"},
]


@pytest.mark.parametrize(
    ("pattern", "sample"),
    [
        ("/products/<int:pk>/", "/products/1/"),
        ("/orders/<str:ord_no>/", "/orders/x1/"),
        ("/orders/<ord_no>/", "/orders/x1/"),
        ("/api(?:/(?P<path>.*))?", "/api"),
        ("/static/(?P<path>.*)", "/static/x"),
        ("^legacy/$", "/legacy/"),
    ],
)
def test_sample_paths(pattern: str, sample: str) -> None:
    assert sample_path(pattern) == sample


def test_match_semantics_follow_the_data_plane() -> None:
    prefix = RuleMatch(kind="prefix", path="/api/products", methods=frozenset({"GET"}))
    assert match_accepts(prefix, "/api/products/1", "GET")
    assert not match_accepts(prefix, "/api/productsX", "GET")
    assert not match_accepts(prefix, "/api/products/1", "POST")
    assert match_accepts(RuleMatch(kind="prefix", path="/"), "/anything", "DELETE")
    assert match_accepts(RuleMatch(kind="exact", path="/"), "/", "GET")
    assert not match_accepts(RuleMatch(kind="exact", path="/"), "/x", "GET")
    assert match_accepts(
        RuleMatch(kind="pattern", path=r"^/api/products/[0-9]+/stock$"), "/api/products/1/stock", "POST"
    )


def test_inventory_of_the_legacyshop_plan(root: Path) -> None:
    plan = load_plan(root / "plans" / "legacyshop.yaml")
    stats = [
        {"route": "catalog-home", "legacy": {"requests": 30}, "new": {"requests": 10}},
        {"route": "catalog-pages", "legacy": {"requests": 20}, "new": {"requests": 0}},
        {"route": "front-door", "legacy": {"requests": 40}, "new": {"requests": 0}},
        {"route": "-", "legacy": {"requests": 0}, "new": {"requests": 0}},
    ]
    inventory = build_inventory(parse_urlconf(json.dumps(URLCONF), source="test"), plan, stats, window_s=60)
    rows = {row.pattern.pattern: row for row in inventory.rows}
    assert rows["/"].status == "claimed" and rows["/"].claims[0].stage == "catalog-reads"
    assert rows["/"].share == 0.4 and inventory.total_requests == 100
    assert rows["/products/<int:pk>/"].claims[0].route == "catalog-pages"
    assert rows["/api/products/<int:pk>/stock"].claims[0].stage == "catalog-writes"
    assert rows["/api/orders"].claims[0].methods == ("GET", "HEAD", "POST")
    assert rows["/cart/"].status == "pass-through only" and rows["/cart/"].unclaimed
    assert rows["/cart/"].share == 0.4  # the front door's share
    assert rows["/healthz"].status == "kept on legacy" and not rows["/healthz"].unclaimed
    assert rows["/static/(?P<path>.*)"].kept
    assert [r.pattern.pattern for r in inventory.unclaimed] == ["/cart/"]
    data = inventory.to_dict()
    assert data["unclaimed"] == 1 and data["routes"][0]["stages"] == ["catalog-reads"]


def test_without_stats_there_are_no_shares(root: Path) -> None:
    plan = load_plan(root / "plans" / "legacyshop.yaml")
    inventory = build_inventory(parse_urlconf(json.dumps(URLCONF), source="t"), plan)
    assert all(row.share is None for row in inventory.rows) and inventory.total_requests is None


def test_a_plan_without_catch_all_leaves_routes_unclaimed(small_plan) -> None:
    plan = small_plan.model_copy(update={"stages": small_plan.stages[1:]})
    inventory = build_inventory(parse_urlconf(json.dumps(URLCONF), source="t"), plan)
    assert {r.pattern.pattern for r in inventory.unclaimed} >= {"/", "/cart/", "/healthz"}
    assert next(r for r in inventory.rows if r.pattern.pattern == "/cart/").status == "unclaimed"


def test_bad_urlconf_documents(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="not JSON"):
        parse_urlconf("{", source="x")
    with pytest.raises(InventoryError, match="expected a JSON list"):
        parse_urlconf("{}", source="x")
    with pytest.raises(InventoryError, match="entry 0 has no 'pattern'"):
        parse_urlconf('[{"name": "a"}]', source="x")
    with pytest.raises(InventoryError, match="cannot read"):
        read_urlconf_file(tmp_path / "missing.json")


def test_a_pattern_no_live_rule_matches_has_no_share_but_the_unmatched_traffic_is_told(root: Path) -> None:
    plan = load_plan(root / "plans" / "legacyshop.yaml")
    stats = [{"route": "-", "legacy": {"requests": 80}, "new": {"requests": 0}}]  # no rule yet
    inventory = build_inventory(parse_urlconf(json.dumps(URLCONF), source="t"), plan, stats, window_s=60)
    assert all(row.share is None for row in inventory.rows)  # not a misleading 0.0%
    assert inventory.total_requests == 80 and inventory.unmatched_requests == 80
    assert inventory.to_dict()["unmatched_requests"] == 80


def test_piped_or_wide_nothing_is_cut(root: Path) -> None:
    from rich.console import Console

    from migration_plan.cli.inventory_commands import print_inventory

    plan = load_plan(root / "plans" / "legacyshop.yaml")
    stats = [{"route": "-", "legacy": {"requests": 8}, "new": {"requests": 0}}]
    inventory = build_inventory(parse_urlconf(json.dumps(URLCONF), source="t"), plan, stats, window_s=60)
    narrow = Console(width=80, record=True, highlight=False)
    print_inventory(inventory, narrow, wide=True)
    text = narrow.export_text()
    assert "…" not in text  # a narrow terminal wraps, never cuts
    assert "share -: no rule of the live table matches the pattern yet" in " ".join(text.split())
    assert "100.0% of 8" in text
    piped = Console(width=100_000, record=True, highlight=False)  # what the command uses when piped
    print_inventory(inventory, piped)
    assert "catalog-reads (catalog-home GET,HEAD)" in piped.export_text()


@pytest.mark.parametrize(
    ("pattern", "path", "takes"),
    [
        ("/products/<int:pk>/", "/products/1/", True),
        ("/products/<int:pk>/", "/products/x/", False),
        ("/products/<int:pk>/", "/products/1/reviews/", False),
        ("/p/<slug:slug>/", "/p/blue-shirt/", True),
        ("/c/<uuid:id>", "/c/00000000-0000-0000-0000-000000000001", True),
        ("/f/<path:rest>", "/f/a/b.css", True),
        ("/orders/<ord_no>/", "/orders/x1/", True),
        ("/file.txt", "/fileXtxt", False),  # a path() route is literal
        ("/static/(?P<path>.*)", "/static/a/b.css", True),
        ("/api(?:/(?P<path>.*))?", "/api", True),
        ("/api(?:/(?P<path>.*))?", "/api/orders", True),
        ("^legacy/$", "/legacy/", True),
        ("/a/[^/]+/", "/a/b/", True),
    ],
)
def test_a_pattern_takes_the_paths_django_would_resolve_to_it(pattern: str, path: str, takes: bool) -> None:
    from migration_plan.inventory.traffic import pattern_regex

    assert (pattern_regex(pattern).fullmatch(path) is not None) is takes


def test_unmatched_path_shapes_go_to_the_first_pattern_that_resolves_them() -> None:
    from migration_plan.inventory.traffic import attribute_shapes

    patterns = parse_urlconf(json.dumps(URLCONF), source="t")
    traffic = attribute_shapes(
        patterns,
        {"/products/{int}/": 30, "/": 10, "/cart/": 5, "/static/css/site.css": 3, "/nowhere/{int}": 2},
    )
    by = dict(zip([p.pattern for p in patterns], traffic.by_pattern, strict=True))
    assert by["/products/<int:pk>/"] == 30 and by["/"] == 10 and by["/cart/"] == 5
    assert by["/static/(?P<path>.*)"] == 3 and by["/api/orders"] == 0
    assert traffic.unresolved == 2 and traffic.unresolved_shapes == (("/nowhere/{int}", 2),)


def test_before_any_rule_the_shares_come_from_the_unmatched_paths(root: Path) -> None:
    plan = load_plan(root / "plans" / "legacyshop.yaml")
    stats = [{"route": "-", "legacy": {"requests": 100}, "new": {"requests": 0}}]  # no rule yet
    paths = {
        "paths": [
            {"path": "/products/{int}/", "requests": 60},
            {"path": "/", "requests": 20},
            {"path": "/nowhere", "requests": 5},
        ],
        "unattributed": 15,
    }
    inventory = build_inventory(
        parse_urlconf(json.dumps(URLCONF), source="t"), plan, stats, window_s=60, unmatched_paths=paths
    )
    rows = {row.pattern.pattern: row for row in inventory.rows}
    assert rows["/products/<int:pk>/"].share == 0.6 and rows["/products/<int:pk>/"].requests == 60
    assert rows["/"].share == 0.2 and rows["/"].share_from == "paths"
    assert rows["/cart/"].share == 0.0 and rows["/cart/"].requests == 0
    assert inventory.unattributed_requests == 20  # the 5 no pattern resolves, the 15 not kept
    data = inventory.to_dict()
    assert data["unresolved_paths"] == [{"path": "/nowhere", "requests": 5}]
    assert data["routes"][1]["share"] == 0.6 and data["routes"][1]["share_from"] == "paths"


def test_a_live_rule_s_share_wins_over_the_unmatched_paths(root: Path) -> None:
    plan = load_plan(root / "plans" / "legacyshop.yaml")
    stats = [
        {"route": "catalog-home", "legacy": {"requests": 50}, "new": {"requests": 0}},
        {"route": "-", "legacy": {"requests": 50}, "new": {"requests": 0}},
    ]
    paths = {"paths": [{"path": "/products/{int}/", "requests": 50}], "unattributed": 0}
    inventory = build_inventory(
        parse_urlconf(json.dumps(URLCONF), source="t"), plan, stats, window_s=60, unmatched_paths=paths
    )
    rows = {row.pattern.pattern: row for row in inventory.rows}
    assert rows["/"].share == 0.5 and rows["/"].share_from == "rule"
    assert rows["/products/<int:pk>/"].share == 0.5 and rows["/products/<int:pk>/"].share_from == "paths"


def test_wide_shows_the_requests_and_where_each_share_comes_from(root: Path) -> None:
    from rich.console import Console

    from migration_plan.cli.inventory_commands import print_inventory

    plan = load_plan(root / "plans" / "legacyshop.yaml")
    stats = [{"route": "-", "legacy": {"requests": 10}, "new": {"requests": 0}}]
    paths = {"paths": [{"path": "/products/{int}/", "requests": 7}, {"path": "/x", "requests": 3}]}
    inventory = build_inventory(
        parse_urlconf(json.dumps(URLCONF), source="t"), plan, stats, window_s=60, unmatched_paths=paths
    )
    console = Console(width=100_000, record=True, highlight=False)
    print_inventory(inventory, console, wide=True)
    text = console.export_text()
    line = next(line for line in text.splitlines() if "catalog:product_detail" in line)
    assert "70.0%" in line and " 7 " in line and "unmatched paths" in line
    assert "3 given to no pattern" in text and "/x (3)" in text
