"""A product's name and price travel as versioned changes in both directions: real monolith (gunicorn,
its admin), the catalog (gunicorn, ``PATCH /api/products/<id>``), the forward relay and consumer and the
reverse relay. A rename made on each side while the other side's relay is down is parked on both sides
instead of overwriting; resolving it writes the chosen name to both; reconcile then finds nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from acl.catalog.sync.resolve import ConflictResolver, create_resolver
from strangler_proxy.controlplane.service_layer.sync_conflicts import (
    ResolutionNotWritten,
    ResolutionStale,
    SyncConflictService,
)
from tests.integration.catalog.catalog_process import running_catalog, staff_request
from tests.integration.sync.harness import SyncStack, eventually, running_sync_stack

pytestmark = pytest.mark.integration

PRODUCT = 12


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SyncStack]:
    with running_sync_stack(tmp_path) as running:
        yield running


@pytest.fixture
def catalog_url(stack: SyncStack) -> Iterator[str]:
    with running_catalog(stack) as url:
        yield url


@pytest.fixture
def conflicts(stack: SyncStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncConflictService]:
    """The control plane's conflict service over both sides, writing resolutions through the ACL."""
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    resolver: ConflictResolver = create_resolver()
    service = SyncConflictService(
        {"legacy": stack.legacy_database_url, "catalog": stack.catalog_database_url}, writer=resolver
    )
    try:
        yield service
    finally:
        service.dispose()
        resolver.close()


def _names(stack: SyncStack) -> tuple[str, str]:
    legacy = stack.scalar("legacy", "SELECT prd_nm FROM tbl_product WHERE prd_id = :id", id=PRODUCT)
    catalog = stack.scalar("catalog", "SELECT name FROM catalog_products WHERE id = :id", id=PRODUCT)
    return str(legacy), str(catalog)


def _open_conflicts(stack: SyncStack, side: str) -> list[dict[str, object]]:
    rows = stack.rows(
        side, "SELECT id, field, ours, theirs FROM sync_conflict WHERE resolved_at IS NULL ORDER BY id"
    )
    return [
        {"id": r.id, "field": r.field, "ours": json.loads(r.ours), "theirs": json.loads(r.theirs)}
        for r in rows
    ]


def _rename_on_catalog(stack: SyncStack, catalog_url: str, name: str) -> None:
    response = staff_request(stack, "PATCH", f"{catalog_url}/api/products/{PRODUCT}", {"name": name})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name


def _drained(stack: SyncStack) -> None:
    def both_ways() -> bool:
        lag = json.loads(stack.sync("lag", "--json").stdout)
        return bool(lag["reverse"]["backlog"] == 0 and lag["forward"]["backlog"] == 0)

    eventually(both_ways, what="both directions drained")


def test_renames_on_both_sides_are_parked_and_the_resolution_reaches_both(
    stack: SyncStack, catalog_url: str, conflicts: SyncConflictService
) -> None:
    stack.start("consume")  # the forward relay and the reverse relay are down
    stack.admin_change_product(PRODUCT, prd_nm="Legacy name")
    _rename_on_catalog(stack, catalog_url, "Catalog name")
    assert _names(stack) == ("Legacy name", "Catalog name")

    stack.start("reverse")  # the catalog's rename reaches the monolith, which renamed meanwhile
    eventually(lambda: _open_conflicts(stack, "legacy"), what="the catalog's rename parked on the monolith")
    stack.start("relay")  # the monolith's rename reaches the catalog, which renamed meanwhile
    eventually(lambda: _open_conflicts(stack, "catalog"), what="the monolith's rename parked on the catalog")
    _drained(stack)
    assert _names(stack) == ("Legacy name", "Catalog name")  # neither overwritten
    [on_legacy] = _open_conflicts(stack, "legacy")
    [on_catalog] = _open_conflicts(stack, "catalog")
    assert on_legacy["field"] == on_catalog["field"] == "fields"
    assert on_legacy["ours"] == {"prd_nm": "Legacy name"}
    assert on_legacy["theirs"]["prd_nm"] == "Catalog name"  # type: ignore[index]
    assert on_catalog["ours"] == {"prd_nm": "Catalog name"}
    assert on_catalog["theirs"]["prd_nm"] == "Legacy name"  # type: ignore[index]

    resolved = conflicts.resolve("legacy", int(on_legacy["id"]), resolution="theirs", by="operator")  # type: ignore[call-overload]
    assert resolved["resolution"] == "theirs" and resolved["superseded"] == [f"catalog/{on_catalog['id']}"]
    assert _names(stack) == ("Catalog name", "Catalog name")
    assert conflicts.overview()["open"] == 0
    _drained(stack)
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["ok"] is True

    # the sides count alike again: the next rename on either side applies on the other
    _rename_on_catalog(stack, catalog_url, "Renamed on the catalog")
    eventually(lambda: _names(stack)[0] == "Renamed on the catalog", what="the catalog's rename applied")
    stack.admin_change_product(PRODUCT, prd_nm="Renamed on the monolith")
    eventually(lambda: _names(stack)[1] == "Renamed on the monolith", what="the monolith's rename applied")
    _drained(stack)
    assert conflicts.overview()["open"] == 0
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["ok"] is True


def test_keeping_the_catalogs_own_value_writes_it_to_the_monolith(
    stack: SyncStack, catalog_url: str, conflicts: SyncConflictService
) -> None:
    stack.start("consume")
    stack.start("reverse")  # the forward relay is down: the monolith's rename waits in its outbox
    stack.admin_change_product(PRODUCT, prd_nm="Legacy name")
    _rename_on_catalog(stack, catalog_url, "Catalog name")
    eventually(lambda: _open_conflicts(stack, "legacy"), what="the catalog's rename parked on the monolith")
    stack.start("relay")
    eventually(lambda: _open_conflicts(stack, "catalog"), what="the monolith's rename parked on the catalog")
    [on_catalog] = _open_conflicts(stack, "catalog")

    conflicts.resolve("catalog", int(on_catalog["id"]), resolution="ours", by="operator")  # type: ignore[call-overload]
    assert _names(stack) == ("Catalog name", "Catalog name")
    assert conflicts.overview()["open"] == 0
    _drained(stack)
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["ok"] is True


def test_a_price_change_without_a_concurrent_change_applies_once_each_way(
    stack: SyncStack, catalog_url: str
) -> None:
    stack.start("relay")
    stack.start("consume")
    stack.start("reverse")

    def prices() -> tuple[str, int]:
        legacy = stack.scalar("legacy", "SELECT unit_prc FROM tbl_product WHERE prd_id = :id", id=PRODUCT)
        cents = stack.scalar("catalog", "SELECT price_cents FROM catalog_products WHERE id = :id", id=PRODUCT)
        return str(legacy), int(cents)

    changed = staff_request(stack, "PATCH", f"{catalog_url}/api/products/{PRODUCT}", {"price": "12.34"})
    assert changed.status_code == 200 and changed.json()["price"] == "12.34"
    eventually(lambda: prices() == ("12.34", 1234), what="the catalog's price on the monolith")
    stack.admin_change_product(PRODUCT, unit_prc="23.45")
    eventually(lambda: prices() == ("23.45", 2345), what="the monolith's price on the catalog")
    _drained(stack)
    # once each: one applied inbox row per change on each side, nothing parked
    applied_on_legacy = stack.scalar(
        "legacy",
        "SELECT count(*) FROM internal_applied_event WHERE origin = 'catalog' AND outcome = 'applied'",
    )
    assert applied_on_legacy == 1
    fields_events = stack.rows(
        "legacy",
        "SELECT event_id, payload FROM outbox_event WHERE origin = 'legacy' AND aggregate_id = :id",
        id=str(PRODUCT),
    )
    [price_event] = [
        r
        for r in fields_events
        if "prd_ver" in (r.payload if isinstance(r.payload, dict) else json.loads(r.payload))
    ]
    applied_on_catalog = stack.scalar("catalog", "SELECT count(*) FROM sync_applied")
    assert applied_on_catalog == 1 and price_event is not None
    assert stack.scalar("legacy", "SELECT count(*) FROM sync_conflict") == 0
    assert stack.scalar("catalog", "SELECT count(*) FROM sync_conflict") == 0
    # both sides counted two changes of the product's fields; its stock version did not move
    versions = (
        stack.scalar(
            "legacy",
            "SELECT version FROM internal_aggregate_version WHERE aggregate_type = 'product'"
            " AND aggregate_id = :id",
            id=str(PRODUCT),
        ),
        stack.scalar(
            "catalog",
            "SELECT version FROM sync_version WHERE aggregate_type = 'product' AND aggregate_id = :id",
            id=str(PRODUCT),
        ),
    )
    assert versions == (2, 2)
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["ok"] is True


def test_a_parked_stock_level_resolved_is_written_to_both_sides(
    stack: SyncStack, catalog_url: str, conflicts: SyncConflictService
) -> None:
    """A level set on the catalog while the monolith moved the stock is parked on the monolith; keeping
    the catalog's (its level plus every move it applied since) gives both sides that stock, once no move
    is in flight."""
    stack.start("relay")
    stack.start("consume")
    initial = stack.legacy_product(PRODUCT)["stock"]
    eventually(lambda: stack.catalog_stock(PRODUCT) == initial, what="catalog in step")
    level = staff_request(stack, "POST", f"{catalog_url}/api/products/{PRODUCT}/stock", {"quantity": 50})
    assert level.status_code == 200, level.text
    stack.move_stock(PRODUCT, 1)
    eventually(lambda: stack.catalog_stock(PRODUCT) == 51, what="the monolith's move applied on the catalog")
    stack.start("reverse")
    eventually(lambda: _open_conflicts(stack, "legacy"), what="the catalog's level parked on the monolith")
    _drained(stack)
    assert stack.legacy_product(PRODUCT)["stock"] == initial + 1
    [parked] = _open_conflicts(stack, "legacy")

    # a move still in flight would be absorbed by a level: the resolution waits until sync has drained
    stack.stop("reverse")
    moved = staff_request(stack, "POST", f"{catalog_url}/api/products/{PRODUCT}/stock", {"delta": 1})
    assert moved.status_code == 200 and moved.json()["stock"] == 52
    with pytest.raises(ResolutionNotWritten, match="resolve once sync has drained"):
        conflicts.resolve("legacy", int(parked["id"]), resolution="theirs", by="operator")  # type: ignore[call-overload]
    stack.start("reverse")
    eventually(lambda: stack.legacy_product(PRODUCT)["stock"] == initial + 2, what="the move applied")
    _drained(stack)
    resolved = conflicts.resolve("legacy", int(parked["id"]), resolution="theirs", by="operator")  # type: ignore[call-overload]
    assert resolved["written"]["values"] == {"stock": 52}
    assert stack.legacy_product(PRODUCT)["stock"] == 52 and stack.catalog_stock(PRODUCT) == 52
    _drained(stack)
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["ok"] is True
    # moves go on from there on both sides
    stack.move_stock(PRODUCT, -2)
    eventually(lambda: stack.catalog_stock(PRODUCT) == 50, what="a later move applied on the catalog")


def test_keeping_ours_after_the_side_changed_again_is_refused_and_the_newer_name_survives(
    stack: SyncStack, catalog_url: str, conflicts: SyncConflictService
) -> None:
    """A resolution is a compare-and-set: the catalog renamed again after its conflict was parked, so
    keeping the name the conflict recorded would overwrite an acknowledged rename; it is refused (409),
    nothing is written and the conflict stays open, showing the catalog's name now, which resolving
    again keeps."""
    stack.start("consume")
    stack.start("reverse")  # the forward relay is down: the monolith's rename waits in its outbox
    stack.admin_change_product(PRODUCT, prd_nm="Legacy name")
    _rename_on_catalog(stack, catalog_url, "Catalog name")
    eventually(lambda: _open_conflicts(stack, "legacy"), what="the catalog's rename parked on the monolith")
    stack.start("relay")
    eventually(lambda: _open_conflicts(stack, "catalog"), what="the monolith's rename parked on the catalog")
    _drained(stack)
    [on_catalog] = _open_conflicts(stack, "catalog")
    assert on_catalog["ours"] == {"prd_nm": "Catalog name"}

    _rename_on_catalog(stack, catalog_url, "Newer catalog name")  # acknowledged after the parking
    eventually(lambda: _names(stack)[0] == "Newer catalog name", what="the newer rename on the monolith")
    with pytest.raises(
        ResolutionStale, match="changed on the service since the conflict was parked"
    ) as refused:
        conflicts.resolve("catalog", int(on_catalog["id"]), resolution="ours", by="operator")  # type: ignore[call-overload]
    assert refused.value.status_code == 409
    _drained(stack)
    assert _names(stack) == ("Newer catalog name", "Newer catalog name")  # nothing overwritten
    # still open, and now showing what the catalog holds: resolving again keeps that
    [looked] = _open_conflicts(stack, "catalog")
    assert looked["id"] == on_catalog["id"] and looked["ours"] == {"prd_nm": "Newer catalog name"}
    resolved = conflicts.resolve("catalog", int(on_catalog["id"]), resolution="ours", by="operator")  # type: ignore[call-overload]
    assert resolved["written"]["values"] == {"prd_nm": "Newer catalog name"}
    assert len(resolved["superseded"]) == 1  # the monolith's half of the crossing
    assert conflicts.overview()["open"] == 0
    _drained(stack)
    assert _names(stack) == ("Newer catalog name", "Newer catalog name")
    report = json.loads(stack.sync("reconcile", "catalog", "--json").stdout)
    assert report["differences"] == [] and report["ok"] is True
