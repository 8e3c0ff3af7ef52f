"""The HAProxy engine's rendering: which changes reach HAProxy as a map commit and which need a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strangler_proxy.engines.haproxy.conditions import quoted
from strangler_proxy.engines.haproxy.config import render_structure
from strangler_proxy.engines.haproxy.layout import EngineLayout
from strangler_proxy.engines.haproxy.matching import match_maps
from strangler_proxy.engines.haproxy.table_map import DEFAULT_ACTION, map_entries
from strangler_proxy.routes import Predicate, RouteTable, Rule, RuleAction, RuleMatch, Upstream, WriteFence

pytestmark = pytest.mark.unit

LEGACY = Upstream(name="legacy", url="http://127.0.0.1:8100")
CATALOG = Upstream(name="catalog", url="http://127.0.0.1:8201")
LAYOUT = EngineLayout(
    run_dir=Path("/run/engine"),
    socket_dir=Path("/tmp/s"),
    front_host="127.0.0.1",
    front_port=8000,
    status_port=8010,
    log_address="127.0.0.1:9999",
    override_key=b"k" * 32,
)


def products(mode: str = "legacy", weight: int = 0, path: str = "/api/products") -> RouteTable:
    action = RuleAction(mode=mode, upstream=None if mode == "legacy" else "catalog", weight=weight)
    upstreams = {"legacy": LEGACY} if mode == "legacy" else {"legacy": LEGACY, "catalog": CATALOG}
    return RouteTable(
        upstreams=upstreams, rules=(Rule(name="products", match=RuleMatch(path=path), action=action),)
    )


def test_flips_weights_and_rollbacks_change_the_map_not_the_configuration() -> None:
    kept = {"catalog": CATALOG}
    texts = {
        render_structure(products(mode, weight), LAYOUT, kept)
        for mode, weight in [("legacy", 0), ("new", 0), ("canary", 5), ("canary", 60), ("legacy", 0)]
    }
    assert len(texts) == 1
    entries = [
        dict(map_entries(products(m, w), generation=1, ready=True))["products"]
        for m, w in [("legacy", 0), ("new", 0), ("canary", 60)]
    ]
    assert entries == [
        "legacy|-|0|1|30000|10485760|0|1",
        "new|catalog|0|1|30000|10485760|0|1",
        "canary|catalog|6000|1|30000|10485760|0|1",
    ]


def test_a_handovers_write_fence_goes_up_and_down_through_the_map_alone() -> None:
    """A fence is put up and lifted within a handover: the map carries its end (rounded up to the
    whole second of HAProxy's clock) and its Retry-After; the configuration stays as it is."""
    open_table = products("new")
    rule = open_table.rules[0]
    fenced = open_table.model_copy(
        update={
            "rules": (rule.model_copy(update={"fence": WriteFence(until=1_700_000_000.2, retry_after_s=3)}),)
        }
    )
    kept = {"catalog": CATALOG}
    assert render_structure(fenced, LAYOUT, kept) == render_structure(open_table, LAYOUT, kept)
    assert dict(map_entries(fenced, generation=1, ready=True))["products"] == (
        "new|catalog|0|1|30000|10485760|1700000001|3"
    )
    text = render_structure(fenced, LAYOUT, kept).config
    assert "http-request return status 503" in text and 'hdr retry-after "%[var(txn.act),field(8,|)]"' in text
    assert "!{ method GET HEAD OPTIONS TRACE }" in text, "reads pass a fence"


def test_a_changed_match_or_a_moved_upstream_renders_a_new_configuration() -> None:
    kept = {"catalog": CATALOG}
    base = render_structure(products("new"), LAYOUT, kept)
    assert render_structure(products("new", path="/api/items"), LAYOUT, kept) != base
    moved = products("new").model_copy(
        update={
            "upstreams": {"legacy": LEGACY, "catalog": Upstream(name="catalog", url="http://127.0.0.1:9201")}
        }
    )
    assert render_structure(moved, LAYOUT, kept) != base


def test_an_upstream_no_longer_named_keeps_its_backend() -> None:
    without = render_structure(products("legacy"), LAYOUT, {})
    kept = render_structure(products("legacy"), LAYOUT, {"catalog": CATALOG})
    assert "backend up_catalog" not in without.config
    assert "backend up_catalog" in kept.config and "backend fb_catalog" in kept.config


def test_plain_rules_are_looked_up_and_the_first_match_still_wins() -> None:
    rules = (
        Rule(name="beta", match=RuleMatch(path="/api", headers=(Predicate(name="X-Beta"),))),
        Rule(name="items", match=RuleMatch(path="/api/items/")),
        Rule(name="api", match=RuleMatch(path="/api")),
        Rule(name="shadowed", match=RuleMatch(path="/api/items/old")),  # behind "items": never matches
        Rule(name="about", match=RuleMatch(kind="exact", path="/about")),
        Rule(name="spaced", match=RuleMatch(kind="exact", path="/a b")),
    )
    exact, prefix = match_maps(RouteTable(upstreams={"legacy": LEGACY}, rules=rules))
    assert exact == [("/about", "4|about")]
    assert prefix == [("/api/items/", "1|items"), ("/api/", "2|api")]


def test_the_map_carries_the_version_generation_and_readiness() -> None:
    table = products("new").with_version(42)
    entries = dict(map_entries(table, generation=7, ready=False))
    assert (entries["VERSION"], entries["GENERATION"], entries["READY"]) == ("42", "7", "0")
    assert DEFAULT_ACTION.startswith("legacy|")


def _unquote(rendered: str) -> str:
    """What HAProxy's parser makes of a double-quoted argument holding only \\xNN escapes."""
    inner = rendered[1:-1].encode("ascii")
    return re.sub(rb"\\x([0-9a-f]{2})", lambda found: bytes([int(found.group(1), 16)]), inner).decode()


@pytest.mark.parametrize("text", ["/it's $HOME", 'a "quoted" #x', "tab\there", "ünï/çødé", "\\d+"])
def test_quoted_values_carry_no_character_haproxy_would_interpret(text: str) -> None:
    rendered = quoted(text)
    assert rendered.startswith('"') and rendered.endswith('"')
    assert not set(re.sub(r"\\x[0-9a-f]{2}", "", rendered[1:-1])) & set("\"'$# \t\\")
    assert _unquote(rendered) == text
