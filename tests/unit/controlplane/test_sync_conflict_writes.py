"""Resolving a product-fields conflict with a writer: the kept values are written first (a failure leaves
the conflict open), then the conflict is resolved and the other half of the crossing, parked on the
other side, is resolved with it as ``superseded``. Real ``sync_conflict`` tables in two SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from acl.catalog.sync.fields import FieldChange, park_field_conflict
from acl.sync.core.stock import create_stock_sync_tables
from strangler_proxy.controlplane.service_layer.sync_conflicts import (
    ResolutionNotWritten,
    ResolutionStale,
    SyncConflictService,
    load_writer,
)

pytestmark = pytest.mark.unit


class StaleWrite(RuntimeError):
    stale = True


class RecordingWriter:
    def __init__(self, *, fail: bool = False, stale: bool = False) -> None:
        self.fail = fail
        self.stale = stale
        self.written: list[tuple[dict[str, Any], str]] = []

    def writes(self, conflict: dict[str, Any]) -> bool:
        return conflict["field"] == "fields"

    def write(self, conflict: dict[str, Any], keep: str) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("the monolith could not be reached")
        if self.stale:
            raise StaleWrite("product 12 changed on the service since the conflict was parked")
        self.written.append((conflict, keep))
        return {"version": 3, "values": {"prd_nm": "There"}}


def _side(path: Path, event_id: str, ours: str, theirs: str) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        create_stock_sync_tables(conn)
        change = FieldChange(event_id, "other", 12, 2, {"prd_nm": theirs})
        park_field_conflict(conn, change, ours={"prd_nm": ours}, found=2)
        # a price conflict of the same product: not what the rename's resolution wrote
        price = FieldChange(f"{event_id}-price", "other", 12, 3, {"unit_prc": "2.00"})
        park_field_conflict(conn, price, ours={"unit_prc": "1.00"}, found=3)
    return engine


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[dict[str, Engine]]:
    engines = {
        "legacy": _side(tmp_path / "legacy.sqlite3", "e-legacy", "Here", "There"),
        "catalog": _side(tmp_path / "catalog.sqlite3", "e-catalog", "There", "Here"),
    }
    yield engines
    for engine in engines.values():
        engine.dispose()


def _service(sides: dict[str, Engine], writer: RecordingWriter) -> SyncConflictService:
    return SyncConflictService({name: str(engine.url) for name, engine in sides.items()}, writer=writer)


def test_the_kept_values_are_written_and_the_other_half_is_superseded(sides: dict[str, Engine]) -> None:
    writer = RecordingWriter()
    service = _service(sides, writer)
    try:
        resolved = service.resolve("legacy", 1, resolution="theirs", by="ops")
    finally:
        service.dispose()
    [(conflict, keep)] = writer.written
    assert keep == "theirs" and conflict["event_id"] == "e-legacy"
    assert resolved["written"]["version"] == 3 and resolved["superseded"] == ["catalog/1"]
    with sides["catalog"].connect() as conn:
        rows = conn.execute(text("SELECT resolution, resolved_by FROM sync_conflict ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [("superseded", "ops"), (None, None)]  # the price stays open


def test_a_write_that_fails_leaves_both_halves_open(sides: dict[str, Engine]) -> None:
    service = _service(sides, RecordingWriter(fail=True))
    try:
        with pytest.raises(ResolutionNotWritten, match="could not be reached"):
            service.resolve("legacy", 1, resolution="ours", by="ops")
        assert service.overview()["open"] == 4
    finally:
        service.dispose()


def test_a_side_changed_since_parking_answers_409_and_leaves_both_halves_open(
    sides: dict[str, Engine],
) -> None:
    service = _service(sides, RecordingWriter(stale=True))
    try:
        with pytest.raises(ResolutionStale, match="changed on the service since") as raised:
            service.resolve("legacy", 1, resolution="ours", by="ops")
        assert raised.value.status_code == 409 and raised.value.code == "resolution_stale"
        assert service.overview()["open"] == 4
    finally:
        service.dispose()


def test_the_writer_is_loaded_by_name() -> None:
    assert load_writer(None) is None and load_writer("") is None
    loaded = load_writer(f"{__name__}:RecordingWriter")
    assert isinstance(loaded, RecordingWriter)
    with pytest.raises(ValueError, match=r"package\.module:function"):
        load_writer("no-colon-here")
    with pytest.raises(ValueError, match="not a callable"):
        load_writer(f"{__name__}:nothing_here")
