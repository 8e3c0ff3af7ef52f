"""Reconcile against the truth: each side's stock changes against the other side's record of applying them.

Comparing the two sides finds where they differ, not what both lost. Every stock change a side made is in
its own outbox (written in the change's transaction), and every change a side applied from the other is
in its inbox (written in the applying transaction). So:

* every change of the monolith (its ``outbox_event`` rows carrying ``stk_ver``, made there) must be in
  the service's ``sync_applied``;
* every change of the service (its ``service_outbox`` rows carrying ``stk_ver``) must be in the
  monolith's inbox of applied events (or in the service's dead letters, refused for good);
* each product's stock version (the count of stock changes applied, see ``acl.sync.core.stock``) and its
  fields version (the count of changes of its other fields, ``acl.catalog.sync.fields``) must be the same on
  both sides once nothing is pending, and a parked conflict is a difference until resolved.

A change applied on neither side, or on one only, shows up here even when the two sides agree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Uuid, column, inspect, select, table

from acl.catalog.source import LEGACY_AGGREGATE_VERSION, LEGACY_STOCK_VERSION
from acl.catalog.sync.fields import PRODUCT_AGGREGATE
from acl.sync.core.history import present_event_ids
from acl.sync.core.stock import sync_applied, sync_conflict, sync_copied
from acl.sync.core.tables import outbox_event, service_outbox

__all__ = ["HistoryReport", "check_history"]

_LEGACY_INBOX = table("internal_applied_event", column("event_id", Uuid()), column("outcome"))
"""Django's UUIDField: ``uuid`` on PostgreSQL, hex without dashes in ``char(32)`` on SQLite."""


@dataclass
class HistoryReport:
    not_applied_on_service: list[str] = field(default_factory=list)
    """Event ids of the monolith's stock changes the service has not applied."""
    not_applied_on_legacy: list[str] = field(default_factory=list)
    versions_differ: list[str] = field(default_factory=list)
    """Products whose stock versions differ while nothing is pending either way."""
    fields_versions_differ: list[str] = field(default_factory=list)
    """Products whose fields versions differ while nothing is pending either way."""
    open_conflicts: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.not_applied_on_service
            or self.not_applied_on_legacy
            or self.versions_differ
            or self.fields_versions_differ
            or self.open_conflicts
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "not_applied_on_service": len(self.not_applied_on_service),
            "not_applied_on_legacy": len(self.not_applied_on_legacy),
            "versions_differ": self.versions_differ[:50],
            "fields_versions_differ": self.fields_versions_differ[:50],
            "open_conflicts": self.open_conflicts,
            "events": {
                "not_applied_on_service": self.not_applied_on_service[:50],
                "not_applied_on_legacy": self.not_applied_on_legacy[:50],
            },
            "ok": self.ok,
        }

    def text_lines(self, service: str) -> list[str]:
        forward, reverse = len(self.not_applied_on_service), len(self.not_applied_on_legacy)
        return [
            f"history: {forward} monolith stock changes not applied on the {service}, "
            f"{reverse} {service} stock changes not applied on the monolith, "
            f"{len(self.versions_differ)} products whose stock versions differ, "
            f"{len(self.fields_versions_differ)} whose fields versions differ, "
            f"{self.open_conflicts} open conflicts"
        ]


def _stock_changes(
    engine: Engine, outbox: Any, origin: str, copied: dict[str, int] | None = None
) -> list[str]:
    """Event ids of ``origin``'s own stock changes in an outbox (those carrying ``stk_ver``), but those a
    backfill's copy already held (``copied``: product -> last outbox sequence copied)."""
    found = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.event_id, outbox.c.payload, outbox.c.aggregate_id, outbox.c.sequence).where(
                outbox.c.origin == origin
            )
        )
        for row in rows:
            payload = row.payload if isinstance(row.payload, dict) else {}
            if payload.get("stk_ver") is None:
                continue
            if copied is not None and row.sequence <= copied.get(str(row.aggregate_id), 0):
                continue
            found.append(str(uuid.UUID(str(row.event_id))))
    return found


def _copied(engine: Engine) -> dict[str, int]:
    if not inspect(engine).has_table("sync_copied"):
        return {}
    with engine.connect() as conn:
        return {row.aggregate_id: int(row.sequence) for row in conn.execute(select(sync_copied))}


def _versions(
    engine: Engine, name: str = "sync_stock_version", *, aggregate_type: str | None = None
) -> dict[str, int]:
    """Each aggregate's version in table ``name`` (of ``aggregate_type`` when the table holds several)."""
    if not inspect(engine).has_table(name):
        return {}
    if aggregate_type is None:
        versions = table(name, column("aggregate_id"), column("version"))
        query = select(versions)
    else:
        versions = table(name, column("aggregate_type"), column("aggregate_id"), column("version"))
        query = select(versions).where(versions.c.aggregate_type == aggregate_type)
    with engine.connect() as conn:
        return {str(row.aggregate_id): int(row.version) for row in conn.execute(query)}


def _differ(ours: dict[str, int], theirs: dict[str, int]) -> list[str]:
    return sorted((key for key in set(ours) | set(theirs) if ours.get(key, 0) != theirs.get(key, 0)), key=int)


def _open_conflicts(engine: Engine) -> int:
    if not inspect(engine).has_table("sync_conflict"):
        return 0
    with engine.connect() as conn:
        return len(
            conn.execute(select(sync_conflict.c.id).where(sync_conflict.c.resolved_at.is_(None))).all()
        )


def check_history(legacy: Engine, service: Engine, *, origin: str) -> HistoryReport:
    """The stock changes of the monolith and of the service ``origin``, each against the other's inbox."""
    report = HistoryReport()
    legacy_changes = _stock_changes(legacy, outbox_event, "legacy", _copied(service))
    applied_here = (
        present_event_ids(service, sync_applied.c.event_id, legacy_changes)
        if inspect(service).has_table("sync_applied")
        else set()
    )
    report.not_applied_on_service = [e for e in legacy_changes if e not in applied_here]
    service_changes = (
        _stock_changes(service, service_outbox, origin)
        if inspect(service).has_table("service_outbox")
        else []
    )
    applied_there = present_event_ids(legacy, _LEGACY_INBOX.c.event_id, service_changes, as_uuid=True)
    dead: set[str] = set()
    if inspect(service).has_table("service_dead_letter"):
        dead_ids = table("service_dead_letter", column("event_id")).c.event_id
        dead = present_event_ids(service, dead_ids, [e for e in service_changes if e not in applied_there])
    report.not_applied_on_legacy = [e for e in service_changes if e not in applied_there and e not in dead]
    report.open_conflicts = _open_conflicts(legacy) + _open_conflicts(service)
    if not report.not_applied_on_service and not report.not_applied_on_legacy:
        report.versions_differ = _differ(_versions(legacy, LEGACY_STOCK_VERSION), _versions(service))
        report.fields_versions_differ = _differ(
            _versions(legacy, LEGACY_AGGREGATE_VERSION, aggregate_type=PRODUCT_AGGREGATE),
            _versions(service, "sync_version", aggregate_type=PRODUCT_AGGREGATE),
        )
    return report
