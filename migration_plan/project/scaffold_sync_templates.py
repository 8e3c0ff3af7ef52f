"""The files of a new service's forward sync (the monolith's events, applied by the service); see
``scaffold_service`` for the markers."""

# Each template is one string keyed by its path (long lines here); what it renders is linted when tested.
# ruff: noqa: E501

from __future__ import annotations

__all__ = ["SYNC_FILES"]

SYNC_FILES: dict[str, str] = {
    "adapters/appliers.py": '''"""Forward sync: the monolith's events about things, applied to the service's table.

The toolkit's forward consumer (``[sync] forward`` in strangler.toml) posts the monolith's outbox events
to ``POST /internal/sync/apply``; the toolkit's inbox (``acl.sync.service.apply``) applies each event
once, in order per aggregate, with the applier registered in ``APPLIERS`` for its aggregate type. Add one
applier per aggregate of the monolith that the service keeps a copy of.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Connection, insert, update

from acl.errors import LegacyDataError
from acl.sync.core.events import SyncEvent
from acl.sync.service.apply import ForwardApplier, ForwardEventError
from new_services.__NAME__.adapters.tables import things
from new_services.__NAME__.anticorruption.translator import thing_from_legacy

__all__ = ["APPLIERS", "ThingApplier"]


class ThingApplier:
    """The monolith's ``created`` and ``updated`` events of the aggregate (its ``record_event`` calls)
    and its ``snapshot`` events (``manage.py strangler_backfill __NAME__``: a row the monolith had before
    its outbox): the thing's row as the monolith has it, under the monolith's id. Every type is applied
    as an upsert, so a snapshot of a row the service has already (a backfill run again) is harmless."""

    aggregate_type: ClassVar[str] = "__NAME__"
    event_types: ClassVar[frozenset[str]] = frozenset(
        {"__NAME__.created", "__NAME__.updated", "__NAME__.snapshot"}
    )

    def apply(self, connection: Connection, event: SyncEvent) -> None:
        try:
            thing = thing_from_legacy(event.payload)
        except LegacyDataError as exc:
            raise ForwardEventError(exc.field, str(exc)) from exc
        changed = connection.execute(
            update(things).where(things.c.id == thing.id).values(name=thing.name)
        ).rowcount
        if not changed:
            connection.execute(insert(things).values(id=thing.id, name=thing.name))


APPLIERS: tuple[ForwardApplier, ...] = (ThingApplier(),)
''',
    "adapters/migrations/versions/0003___NAME___service_inbox.py": '''"""__NAME__: service_inbox, the monolith's events applied by forward sync

The table is ``acl.sync.service.inbox.service_inbox``, created only when missing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-01
"""

from __future__ import annotations

from alembic import op

from acl.sync.service.inbox import create_service_inbox, service_inbox

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_service_inbox(op.get_bind())


def downgrade() -> None:
    service_inbox.drop(op.get_bind(), checkfirst=True)
''',
    "tests/test___NAME___sync.py": '''"""Forward sync into the __NAME__ service: the monolith's events, posted by the toolkit's forward
consumer to ``/internal/sync/apply`` with the internal token, change its table once each, in order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.anticorruption.translator import LEGACY_FIELDS, thing_to_legacy
from new_services.__NAME__.bootstrap import bootstrap
from new_services.__NAME__.domain.model import Thing
from new_services.__NAME__.entrypoints.app import create_app
from new_services.__NAME__.settings import __CLASS__Settings

pytestmark = pytest.mark.unit

TOKEN = "the-internal-token"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("STRANGLER_LEGACY_INTERNAL_TOKEN", TOKEN)
    monkeypatch.delenv("STRANGLER_LEGACY_INTERNAL_TOKEN_FILE", raising=False)
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = __CLASS__Settings(STRANGLER_HOME=str(tmp_path), __UPPER___DATABASE_URL=database)
    wired = bootstrap(settings)
    MIGRATIONS.upgrade_to_head(wired.engine)
    yield create_app(settings, wired=wired).test_client()
    wired.dispose()


def _event(sequence: int, name: str, event_type: str = "__NAME__.created") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "aggregate_type": "__NAME__",
        "aggregate_id": "7",
        "sequence": sequence,
        "type": event_type,
        "payload": thing_to_legacy(Thing(7, name)),
        "occurred_at": datetime.now(UTC).isoformat(),
        "origin": "legacy",
    }


def _apply(client: FlaskClient, events: list[dict[str, Any]], token: str = TOKEN) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"}
    return client.post("/internal/sync/apply", json={"events": events}, headers=headers)


def test_the_monolith_s_events_are_applied_once_in_order(client: FlaskClient) -> None:
    created, renamed = _event(1, "from the monolith"), _event(2, "renamed", "__NAME__.updated")
    response = _apply(client, [created, renamed, created])
    assert response.status_code == 200, response.get_data(as_text=True)
    outcomes = [result["outcome"] for result in response.get_json()["results"]]
    assert outcomes == ["applied", "applied", "duplicate"]
    assert _apply(client, [_event(1, "older")]).get_json()["results"][0]["outcome"] == "stale"
    assert client.get("__ROUTE__").get_json() == {"results": [{"id": 7, "name": "renamed"}]}


def test_a_snapshot_of_a_row_the_monolith_had_before_its_outbox_is_an_upsert(client: FlaskClient) -> None:
    """``manage.py strangler_backfill`` sends each existing row as a snapshot, after the row's events:
    a new row is inserted, a known one overwritten, and a second backfill's snapshot changes nothing."""
    snapshot = _event(1, "from the backfill", "__NAME__.snapshot")
    other = {**snapshot, "event_id": str(uuid.uuid4()), "aggregate_id": "8"}
    other["payload"] = thing_to_legacy(Thing(8, "another old one"))
    updated = _event(2, "changed after the backfill", "__NAME__.updated")
    again = _event(3, "changed after the backfill", "__NAME__.snapshot")
    results = _apply(client, [snapshot, other, updated, again]).get_json()["results"]
    assert [result["outcome"] for result in results] == ["applied"] * 4
    listed = client.get("__ROUTE__").get_json()["results"]
    assert sorted(listed, key=lambda thing: thing["id"]) == [
        {"id": 7, "name": "changed after the backfill"},
        {"id": 8, "name": "another old one"},
    ]


def test_only_the_internal_token_is_taken_and_a_bad_event_is_refused(client: FlaskClient) -> None:
    assert _apply(client, [], token="not-the-token").status_code == 401
    bad = {**_event(1, "bad"), "payload": {LEGACY_FIELDS["id"]: "seven"}}
    unknown = {**_event(1, "elsewhere"), "aggregate_type": "invoice"}
    results = _apply(client, [bad, unknown]).get_json()["results"]
    assert results[0]["error"]["field"] == LEGACY_FIELDS["id"]
    assert results[1]["outcome"] == "ignored"
    assert client.get("__ROUTE__").get_json() == {"results": []}
''',
}
