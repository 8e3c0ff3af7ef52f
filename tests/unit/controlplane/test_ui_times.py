"""Times on the admin pages are UTC whatever zone the store hands them back in (PostgreSQL answers in
its session's zone: the server's, or PGTZ's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from strangler_proxy.controlplane.repositories.audit import AuditEntry
from strangler_proxy.controlplane.service_layer.clock import as_utc
from strangler_proxy.controlplane.ui.views_audit import _row

pytestmark = pytest.mark.unit

NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def test_an_aware_time_in_another_zone_is_converted_and_a_naive_one_taken_as_utc() -> None:
    evening = datetime(2026, 12, 4, 21, 30, tzinfo=NEW_YORK_WINTER)
    assert as_utc(evening) == datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
    assert as_utc(evening).utcoffset() == timedelta(0)
    assert as_utc(datetime(2026, 12, 5, 2, 30)) == datetime(2026, 12, 5, 2, 30, tzinfo=UTC)


def test_the_audit_page_prints_the_utc_time_of_an_entry_read_in_another_zone() -> None:
    entry = AuditEntry(
        at=datetime(2026, 12, 4, 21, 30, 5, tzinfo=NEW_YORK_WINTER),
        actor="admin",
        action="login",
        outcome="ok",
    )
    assert _row(entry).at == "2026-12-05 02:30:05 UTC"
