"""The admin UI's pure helpers: diff lines, plain-language changes, safe redirects, evidence lines."""

from __future__ import annotations

import pytest

from strangler_proxy.controlplane.service_layer import derive
from strangler_proxy.controlplane.service_layer.diff import diff_tables
from strangler_proxy.controlplane.ui.changes import change_lines
from strangler_proxy.controlplane.ui.diffview import diff_lines
from strangler_proxy.controlplane.ui.views_audit import _evidence_summary
from strangler_proxy.controlplane.ui.views_auth import _safe_next
from strangler_proxy.controlplane.ui.views_shadow import _diff_summary
from strangler_proxy.routes import ActionMode, RouteTable, Rule, RuleMatch, Upstream

pytestmark = pytest.mark.unit

REGISTRY = {
    "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
    "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
}


def _table(*rules: Rule) -> RouteTable:
    return RouteTable(version=1, upstreams={"legacy": REGISTRY["legacy"]}, rules=rules)


def test_diff_lines_classify_a_unified_diff() -> None:
    text = "--- v1\n+++ v2\n@@ -1,2 +1,2 @@\n {\n-  a\n+  b"
    assert diff_lines(text) == [
        ("hunk", "--- v1"),
        ("hunk", "+++ v2"),
        ("hunk", "@@ -1,2 +1,2 @@"),
        ("same", " {"),
        ("del", "-  a"),
        ("add", "+  b"),
    ]
    assert diff_lines(None) == [] and diff_lines("") == []


def test_change_lines_say_what_a_flip_does_in_plain_words() -> None:
    before = _table(Rule(name="catalog", match=RuleMatch(path="/api/products")))
    canary = derive.flip_route(
        before, REGISTRY, "catalog", mode=ActionMode.CANARY, weight=50, upstream="catalog"
    )
    assert change_lines(diff_tables(before, canary)) == ["catalog: legacy → canary 50% (catalog)"]
    new = derive.flip_route(canary, REGISTRY, "catalog", mode=ActionMode.NEW)
    assert change_lines(diff_tables(canary, new)) == ["catalog: canary 50% (catalog) → new (catalog)"]


def test_change_lines_name_added_and_removed_routes() -> None:
    before = _table(Rule(name="a", match=RuleMatch(path="/a")))
    after = _table(Rule(name="b", match=RuleMatch(path="/b")))
    assert change_lines(diff_tables(before, after)) == ["add route b", "remove route a"]
    assert change_lines(diff_tables(before, before)) == []


def test_change_lines_report_other_changes_to_a_rule() -> None:
    before = _table(Rule(name="a", match=RuleMatch(path="/a")))
    after = _table(Rule(name="a", match=RuleMatch(path="/a"), max_body_bytes=1))
    assert change_lines(diff_tables(before, after)) == ["a: settings changed"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/history?x=1", "/history?x=1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
        ("", "/"),
    ],
)
def test_login_only_returns_to_local_paths(value: object, expected: str) -> None:
    assert _safe_next(value) == expected


def test_guard_evidence_becomes_one_line_per_window() -> None:
    evidence = {
        "checked_version": 2,
        "windows": [
            {"second": 0, "reasons": ["5xx rate 0.500 > 0.010", "p99 300.0 ms > 50.0 ms"]},
            {"second": 1, "reasons": ["shadow parity 0.000 < 0.950"]},
        ],
    }
    assert _evidence_summary(evidence) == [
        "00:00:00  5xx rate 0.500 > 0.010; p99 300.0 ms > 50.0 ms",
        "00:00:01  shadow parity 0.000 < 0.950",
    ]
    assert _evidence_summary({"url": "http://x"}) == []
    assert _evidence_summary(None) == []


def test_a_shadow_mismatch_is_summarised_by_its_first_changed_line() -> None:
    diff = 'body (JSON):\n--- legacy\n+++ new\n@@ -1 +1 @@\n-  "side": "legacy"\n+  "side": "new"'
    assert _diff_summary(diff) == '-  "side": "legacy"'
    assert _diff_summary("status 200 != 500") == "status 200 != 500"
    assert _diff_summary("") == "show"
