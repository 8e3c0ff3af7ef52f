"""Publishing: validation, compare-and-swap, rollback as a pointer swap, panic, re-activation, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from strangler_proxy.controlplane.errors import BadRequest, Refused, StaleVersion
from strangler_proxy.controlplane.repositories.audit import AuditFilter
from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.publishing import Actor
from strangler_proxy.routes import LEGACY, ActionMode, RouteTable, Rule, RuleAction, RuleMatch, Upstream
from strangler_proxy.store.schema import route_versions

pytestmark = pytest.mark.unit

ME = Actor("alice", "127.0.0.1")


def _version_rows(services: ControlPlaneServices) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(route_versions)).scalar_one()


@pytest.fixture
def catalog(services: ControlPlaneServices) -> ControlPlaneServices:
    """A store with the catalog upstream registered and route 'catalog' (legacy) in version 2."""
    services.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:8201"})
    services.publishing.add_route(
        Rule(name="catalog", match=RuleMatch(path="/catalog")), actor=ME, reason="add"
    )
    return services


def test_bootstrap_publishes_version_one_to_legacy(services: ControlPlaneServices) -> None:
    pointer, record = services.publishing.active()
    assert (pointer.version_id, pointer.generation, record.author) == (1, 1, "system")
    assert record.table.rules == ()
    assert record.table.upstreams[LEGACY].url == "http://127.0.0.1:8100"
    assert services.bootstrap().published_first_version is False  # a restart changes nothing


def test_flip_publishes_a_new_version_with_parent_and_diff(catalog: ControlPlaneServices) -> None:
    result = catalog.publishing.flip(
        "catalog", mode=ActionMode.CANARY, weight=30, upstream="catalog", actor=ME, reason="try 30%"
    )
    pointer, record = catalog.publishing.active()
    assert (result.version, result.previous, pointer.version_id) == (3, 2, 3)
    assert record.parent_id == 2 and record.author == "alice" and record.reason == "try 30%"
    assert record.table.rule("catalog").action == RuleAction(
        mode=ActionMode.CANARY, upstream="catalog", weight=30
    )
    assert result.diff.changed_rules.keys() == {"catalog"} and result.diff.added_upstreams == ["catalog"]
    assert '"weight": 30' in result.diff.text


def test_stale_publish_is_refused_and_changes_nothing(catalog: ControlPlaneServices) -> None:
    before_rows, before = _version_rows(catalog), catalog.publishing.active()[0]
    table = catalog.publishing.active_table()
    with pytest.raises(StaleVersion) as caught:
        catalog.publishing.publish(table, actor=ME, reason="late", expected_version=1)
    assert caught.value.status_code == 409 and caught.value.active == 2
    assert _version_rows(catalog) == before_rows
    assert catalog.publishing.active()[0] == before
    [entry] = catalog.audit.search(AuditFilter(outcome="conflict"))
    assert (entry.actor, entry.version_before, entry.version_after) == ("alice", 1, None)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            RouteTable(
                upstreams={LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")},
                rules=(
                    Rule(
                        name="x", match=RuleMatch(path="/x"), action=RuleAction(mode="new", upstream="ghost")
                    ),
                ),
            ),
            "not in the table's upstreams",
        ),
        (
            RouteTable(
                upstreams={
                    LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100"),
                    "ghost": Upstream(name="ghost", url="http://127.0.0.1:9999"),
                },
                rules=(),
            ),
            "'ghost' is not registered",
        ),
        (
            RouteTable(
                upstreams={LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")},
                rules=(
                    Rule(name="a", match=RuleMatch(path="/a")),
                    Rule(name="b", match=RuleMatch(path="/a/b")),
                ),
            ),
            "can never match",
        ),
        (
            RouteTable(
                upstreams={LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")},
                rules=(Rule(name="p", match=RuleMatch(kind="pattern", path="/(unclosed")),),
            ),
            "does not compile",
        ),
    ],
)
def test_refused_table_leaves_the_active_one_serving(
    catalog: ControlPlaneServices, table: RouteTable, problem: str
) -> None:
    before_rows, before = _version_rows(catalog), catalog.publishing.active()[0]
    with pytest.raises(Refused) as caught:
        catalog.publishing.publish(table, actor=ME, reason="bad", expected_version=2)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert catalog.publishing.active()[0] == before and _version_rows(catalog) == before_rows
    [entry] = catalog.audit.search(AuditFilter(outcome="refused"))
    assert problem in str(entry.evidence)


def test_rollback_of_the_whole_table_is_a_pointer_swap(catalog: ControlPlaneServices) -> None:
    catalog.publishing.flip("catalog", mode=ActionMode.NEW, upstream="catalog", actor=ME, reason="go")
    rows = _version_rows(catalog)
    result = catalog.publishing.rollback(actor=ME, reason="back")
    pointer, record = catalog.publishing.active()
    assert (result.version, pointer.version_id, pointer.previous_version_id) == (2, 2, 3)
    assert _version_rows(catalog) == rows  # nothing rebuilt
    assert record.table.rule("catalog").action.mode is ActionMode.LEGACY


def test_route_rollback_to_legacy_and_to_previous(catalog: ControlPlaneServices) -> None:
    services = catalog
    services.upstreams.save({"name": "orders", "url": "http://127.0.0.1:8202"})
    services.publishing.add_route(
        Rule(
            name="orders", match=RuleMatch(path="/orders"), action=RuleAction(mode="new", upstream="orders")
        ),
        actor=ME,
        reason="orders",
    )
    services.publishing.flip(
        "catalog", mode=ActionMode.CANARY, weight=10, upstream="catalog", actor=ME, reason="c"
    )
    services.publishing.flip("catalog", mode=ActionMode.CANARY, weight=60, actor=ME, reason="more")
    services.publishing.rollback(actor=ME, reason="less", route="catalog", to="previous")
    table = services.publishing.active_table()
    assert table.rule("catalog").action.weight == 10
    assert table.rule("orders").action.mode is ActionMode.NEW  # other routes untouched
    services.publishing.rollback(actor=ME, reason="stop", route="catalog", to="legacy")
    table = services.publishing.active_table()
    assert table.rule("catalog").action.mode is ActionMode.LEGACY
    assert table.rule("orders").action.mode is ActionMode.NEW
    assert "catalog" not in table.upstreams


def test_panic_sends_every_route_to_legacy_whatever_is_active(catalog: ControlPlaneServices) -> None:
    catalog.publishing.flip("catalog", mode=ActionMode.NEW, upstream="catalog", actor=ME, reason="go")
    result = catalog.publishing.panic(actor=ME, reason="fire")
    table = catalog.publishing.active_table()
    assert table.version == result.version
    assert all(rule.action.mode is ActionMode.LEGACY for rule in table.rules)
    [entry] = catalog.audit.search(AuditFilter(action="panic"))
    assert (entry.version_before, entry.version_after, entry.reason) == (3, 4, "fire")


def test_any_version_can_be_reactivated_and_diffed(catalog: ControlPlaneServices) -> None:
    catalog.publishing.flip("catalog", mode=ActionMode.NEW, upstream="catalog", actor=ME, reason="go")
    result = catalog.publishing.reactivate(1, actor=ME, reason="start over")
    assert catalog.publishing.active()[0].version_id == 1 and result.previous == 3
    diff = catalog.publishing.diff(1, 3)
    assert diff.added_rules == ["catalog"] and diff.added_upstreams == ["catalog"]
    with pytest.raises(BadRequest, match="already active"):
        catalog.publishing.reactivate(1, actor=ME, reason="again")
    assert [v.id for v in catalog.publishing.history()] == [3, 2, 1]


def test_every_change_needs_a_reason(catalog: ControlPlaneServices) -> None:
    with pytest.raises(BadRequest, match="reason"):
        catalog.publishing.flip("catalog", mode=ActionMode.NEW, upstream="catalog", actor=ME, reason="  ")
    assert catalog.publishing.active()[0].version_id == 2


def test_a_flip_takes_upstream_addresses_from_the_registry(catalog: ControlPlaneServices) -> None:
    catalog.publishing.flip("catalog", mode=ActionMode.NEW, upstream="catalog", actor=ME, reason="go")
    catalog.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:8301"})
    stale = catalog.publishing.active_table()
    with pytest.raises(Refused, match="route table refused") as caught:
        catalog.publishing.publish(stale, actor=ME, reason="old address", expected_version=3)
    assert "registry has http://127.0.0.1:8301" in caught.value.problems[0]
    catalog.publishing.flip("catalog", mode=ActionMode.CANARY, weight=5, actor=ME, reason="moved")
    assert catalog.publishing.active_table().upstreams["catalog"].url == "http://127.0.0.1:8301"


def test_upstreams_from_the_environment_are_registered_at_start(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from strangler_proxy.controlplane.service_layer import build_services
    from strangler_proxy.controlplane.settings import ControlPlaneSettings
    from strangler_proxy.store.engine import make_engine
    from tests.unit.controlplane.conftest import CHEAP_ARGON2

    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STRANGLER_UPSTREAMS", "catalog=http://127.0.0.1:8201, orders=http://127.0.0.1:8202")
    settings = ControlPlaneSettings()
    services = build_services(
        settings, make_engine(settings.resolved_store_url), password_hasher=CHEAP_ARGON2
    )
    try:
        services.bootstrap()
        services.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:9201"})  # moved by an admin
        services.bootstrap()  # a restart keeps the registry's address
        assert {u.name: u.url for u in services.upstreams.list()} == {
            "catalog": "http://127.0.0.1:9201",
            "legacy": "http://127.0.0.1:8100",
            "orders": "http://127.0.0.1:8202",
        }
    finally:
        services.engine.dispose()
    monkeypatch.setenv("STRANGLER_UPSTREAMS", "catalog")
    with pytest.raises(ValueError, match="not name=url"):
        ControlPlaneSettings()
