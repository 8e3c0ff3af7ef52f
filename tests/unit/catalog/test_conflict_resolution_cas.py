"""Resolving a product-fields conflict is a compare-and-set: a change acknowledged on either side after the
conflict was parked, or after the resolver read the versions, is never overwritten. The catalog's real
port (SQLite), the monolith's versions in a SQLite file, its ``/internal/sync/apply`` faked."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from acl.catalog.records import ProductRecord, ProductStatus
from acl.catalog.sync.fields import FieldChange, park_field_conflict
from acl.catalog.sync.resolve import ConflictResolver, ResolutionFailed, ResolutionStale
from acl.sync.core.events import SyncEvent
from acl.sync.core.outcomes import EventOutcome
from acl.sync.core.stock import create_stock_sync_tables
from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.adapters.sync_port import CatalogSyncPort
from new_services.kit.engine import make_engine
from tests.unit.acl.legacy_db import legacy_row, make_legacy_database

pytestmark = pytest.mark.unit

MOMENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class FakeMonolith:
    """``/internal/sync/apply`` as the resolver calls it: every event sent, one outcome each."""

    def __init__(self, outcome: str = "applied") -> None:
        self.outcome = outcome
        self.unreachable = False
        self.sent: list[SyncEvent] = []

    def apply_events(self, events: Sequence[SyncEvent]) -> list[EventOutcome]:
        if self.unreachable:
            raise ConnectionError("connection refused")
        self.sent += events
        return [EventOutcome(event.event_id, self.outcome) for event in events]

    def close(self) -> None:
        pass


class RacingPort(CatalogSyncPort):
    """A rename acknowledged on the service right after the resolver read its fields version."""

    def fields_version(self, product_id: int) -> int:
        read = super().fields_version(product_id)
        if not self.has_applied("racing"):
            change = FieldChange(
                "racing", "legacy", product_id, read + 1, {"prd_nm": "Acknowledged meanwhile"}
            )
            assert self.apply_field_changes([change]) == ["applied"]
        return read


def _product() -> ProductRecord:
    return ProductRecord(
        id=1,
        sku="LS-000001",
        name="Old",
        description="",
        price=Decimal("19.90"),
        stock=4,
        status=ProductStatus.ACTIVE,
        category=("Home", "Kitchen"),
        created_at=MOMENT,
        updated_at=MOMENT,
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    MIGRATIONS.upgrade_to_head(engine)
    port = CatalogSyncPort(engine)
    port.apply_products([_product()])
    # the service renamed twice: version 2, "Service name"
    port.apply_field_changes([FieldChange("s1", "catalog", 1, 1, {"prd_nm": "First"})])
    port.apply_field_changes([FieldChange("s2", "catalog", 1, 2, {"prd_nm": "Service name"})])
    yield engine
    engine.dispose()


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[Engine]:
    """The monolith's product 1 ("Legacy name", fields version 2) and its conflict queue."""
    url = make_legacy_database(tmp_path / "legacy.sqlite3", [legacy_row(1, prd_nm="Legacy name")])
    engine = create_engine(url)
    with engine.begin() as connection:
        create_stock_sync_tables(connection)
        connection.execute(
            text(
                "CREATE TABLE internal_aggregate_version (aggregate_type TEXT, aggregate_id TEXT,"
                " version INTEGER)"
            )
        )
        connection.execute(text("INSERT INTO internal_aggregate_version VALUES ('product', '1', 2)"))
    yield engine
    engine.dispose()


def _legacy_at(legacy: Engine, version: int) -> None:
    with legacy.begin() as connection:
        connection.execute(text("UPDATE internal_aggregate_version SET version = :v"), {"v": version})


def _resolver(port: CatalogSyncPort, monolith: FakeMonolith, legacy: Engine) -> ConflictResolver:
    return ConflictResolver(
        lambda: port,
        monolith,  # type: ignore[arg-type]
        legacy,
        origin="catalog",
        service_engine=port._engine,
    )


def _conflict(*, parked_on: str) -> dict[str, Any]:
    """The crossing of two renames, both sides at version 2, parked on ``parked_on``."""
    on_service = parked_on == "service"
    ours, theirs = ("Service name", "Legacy name") if on_service else ("Legacy name", "Service name")
    return {
        "event_id": f"parked-on-{parked_on}",
        "origin": "legacy" if on_service else "catalog",
        "aggregate_type": "product",
        "aggregate_id": "1",
        "field": "fields",
        "ours": json.dumps({"prd_nm": ours}),
        "theirs": json.dumps({"prd_nm": theirs, "prd_ver": 2, "reason": "changed here meanwhile"}),
        "expected_version": 1,
        "found_version": 2,
    }


def _parked(engine: Engine, *, parked_on: str) -> dict[str, Any]:
    """``_conflict`` parked in ``engine``'s queue, read back as the control plane reads it."""
    conflict = _conflict(parked_on=parked_on)
    theirs = json.loads(conflict["theirs"])
    change = FieldChange(conflict["event_id"], conflict["origin"], 1, 2, {"prd_nm": theirs["prd_nm"]})
    with engine.begin() as connection:
        park_field_conflict(connection, change, ours=json.loads(conflict["ours"]), found=2)
    return _row(engine, conflict["event_id"])


def _row(engine: Engine, event_id: str) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM sync_conflict WHERE event_id = :e"), {"e": event_id})
        return dict(row.one()._mapping)


def _name(port: CatalogSyncPort) -> str:
    return next(r.name for r in port.product_records() if r.id == 1)


def test_keeping_ours_is_refused_when_the_service_changed_since_the_conflict_was_parked(
    service: Engine, legacy: Engine
) -> None:
    """Nothing is written; the conflict then shows the service's name now, which resolving again keeps."""
    port, monolith = CatalogSyncPort(service), FakeMonolith()
    parked = _parked(service, parked_on="service")
    port.apply_field_changes([FieldChange("newer", "catalog", 1, 3, {"prd_nm": "Newer"})])
    resolver = _resolver(port, monolith, legacy)
    with pytest.raises(
        ResolutionStale,
        match=r"product 1 changed on the service since the conflict was parked \(version 2 -> 3\): look",
    ):
        resolver.write(parked, "ours")
    assert _name(port) == "Newer" and port.fields_version(1) == 3  # nothing written anywhere
    assert monolith.sent == []
    looked = _row(service, "parked-on-service")
    assert json.loads(looked["ours"]) == {"prd_nm": "Newer"} and looked["found_version"] == 3
    written = resolver.write(looked, "ours")
    [sent] = monolith.sent
    assert written["values"] == {"prd_nm": "Newer"} and written["version"] == 4
    assert sent.payload["prd_nm"] == "Newer" and sent.payload["sync_expect_version"] == 2
    assert _name(port) == "Newer" and port.fields_version(1) == 4


def test_keeping_theirs_is_refused_when_the_monolith_changed_since_the_conflict_was_parked(
    service: Engine, legacy: Engine
) -> None:
    port, monolith = CatalogSyncPort(service), FakeMonolith()
    parked = _parked(legacy, parked_on="monolith")
    with legacy.begin() as connection:
        connection.execute(text("UPDATE tbl_product SET prd_nm = 'Newer on the monolith'"))
    _legacy_at(legacy, 3)
    with pytest.raises(ResolutionStale, match=r"changed on the monolith since .* \(version 2 -> 3\)"):
        _resolver(port, monolith, legacy).write(parked, "theirs")
    assert _name(port) == "Service name" and port.fields_version(1) == 2
    assert monolith.sent == []
    looked = _row(legacy, "parked-on-monolith")
    assert json.loads(looked["ours"]) == {"prd_nm": "Newer on the monolith"} and looked["found_version"] == 3


def test_a_change_on_the_service_after_the_versions_were_read_is_not_overwritten(
    service: Engine, legacy: Engine
) -> None:
    port, monolith = RacingPort(service), FakeMonolith()
    with pytest.raises(ResolutionStale, match="changed on the service while the resolution was written"):
        _resolver(port, monolith, legacy).write(_conflict(parked_on="monolith"), "ours")
    assert _name(port) == "Acknowledged meanwhile" and port.fields_version(1) == 3
    assert monolith.sent == []


def test_the_monolith_answering_changed_fails_the_resolution_naming_it(
    service: Engine, legacy: Engine
) -> None:
    port, monolith = CatalogSyncPort(service), FakeMonolith(outcome="changed")
    with pytest.raises(ResolutionStale, match="changed on the monolith while the resolution was written"):
        _resolver(port, monolith, legacy).write(_conflict(parked_on="monolith"), "ours")
    [sent] = monolith.sent
    assert sent.payload["sync_force"] is True and sent.payload["sync_expect_version"] == 2
    # the service holds the resolution; resolving again does not take the monolith's newer change for
    # one that could not be reached: its side moved since the conflict was parked
    _legacy_at(legacy, 3)
    monolith.outcome = "applied"
    with pytest.raises(ResolutionStale, match="changed on the monolith since the conflict was parked"):
        _resolver(port, monolith, legacy).write(_conflict(parked_on="monolith"), "ours")
    assert len(monolith.sent) == 1


def test_resolving_again_after_the_monolith_was_unreachable_writes_the_same_version(
    service: Engine, legacy: Engine
) -> None:
    port, monolith = CatalogSyncPort(service), FakeMonolith()
    resolver = _resolver(port, monolith, legacy)
    monolith.unreachable = True
    with pytest.raises(ResolutionFailed, match="could not be reached"):
        resolver.write(_conflict(parked_on="service"), "theirs")
    assert _name(port) == "Legacy name" and port.fields_version(1) == 3  # the service took it
    monolith.unreachable = False
    written = resolver.write(_conflict(parked_on="service"), "theirs")
    [sent] = monolith.sent
    assert (
        written["version"] == 3 and sent.payload["prd_ver"] == 3 and sent.payload["prd_nm"] == "Legacy name"
    )
    assert sent.payload["sync_expect_version"] == 2 and port.fields_version(1) == 3
