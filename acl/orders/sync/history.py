"""Reconcile orders against the truth: each side's order events against the other side's record of them.

Comparing the two sides finds where they differ, not what both lost. Every order change a side made is
in its own outbox (written in the change's transaction), and the other side records what it took:

* every order event of the monolith (its ``outbox_event`` rows, aggregate ``order``, origin ``legacy``)
  must be reflected on the orders service: in the orders consumer's inbox (``sync_inbox``, any outcome),
  or at or below the order's sequence the consumer holds (``sync_aggregates``: events carry the whole
  order, so a later state applied holds the earlier ones; a backfill seeds it with the sequence each
  order was copied at). Events the consumer rejected are accounted for (logged) and listed apart;
* every order event of the orders service (its ``service_outbox`` rows, aggregate ``order``, its
  origin) must be in the monolith's inbox of applied events (``internal_applied_event``) or in the
  service's dead letters (refused for good, listed by ``dead-letters``);
* an order change parked in a conflict queue (``sync_conflict``, aggregate ``order``, on either side)
  is a difference until resolved.

An event reflected on neither side shows up here even when the two sides agree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Uuid, column, func, inspect, select, table

from acl.sync.core.history import present_event_ids
from acl.sync.core.tables import outbox_event, service_outbox, sync_aggregates, sync_inbox

__all__ = ["OrderHistoryReport", "check_order_history"]

_LEGACY_INBOX = table("internal_applied_event", column("event_id", Uuid()))
"""Django's UUIDField: ``uuid`` on PostgreSQL, hex without dashes in ``char(32)`` on SQLite."""
_DEAD_LETTERS = table("service_dead_letter", column("event_id"))
_CONFLICTS = table("sync_conflict", column("aggregate_type"), column("resolved_at"))


@dataclass
class OrderHistoryReport:
    not_applied_on_service: list[str] = field(default_factory=list)
    """Event ids of the monolith's order events the orders service does not reflect."""
    not_applied_on_legacy: list[str] = field(default_factory=list)
    """Event ids of the orders service's order events the monolith has not applied (nor dead-lettered)."""
    rejected_on_service: list[str] = field(default_factory=list)
    """The monolith's order events the orders consumer rejected (logged; not a loss of sync's)."""
    open_conflicts: int = 0

    @property
    def ok(self) -> bool:
        return not (self.not_applied_on_service or self.not_applied_on_legacy or self.open_conflicts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "not_applied_on_service": len(self.not_applied_on_service),
            "not_applied_on_legacy": len(self.not_applied_on_legacy),
            "rejected_on_service": len(self.rejected_on_service),
            "open_conflicts": self.open_conflicts,
            "events": {
                "not_applied_on_service": self.not_applied_on_service[:50],
                "not_applied_on_legacy": self.not_applied_on_legacy[:50],
                "rejected_on_service": self.rejected_on_service[:50],
            },
            "ok": self.ok,
        }

    def text_lines(self, service: str = "orders service", *, limit: int = 50) -> list[str]:
        lines = [
            f"history: {len(self.not_applied_on_service)} monolith order events not applied on the "
            f"{service}, {len(self.not_applied_on_legacy)} {service} order events not applied on the "
            f"monolith, {len(self.rejected_on_service)} rejected by the {service}, "
            f"{self.open_conflicts} open order conflicts"
        ]
        lines += [f"  not applied on the {service}: {e}" for e in self.not_applied_on_service[:limit]]
        lines += [f"  not applied on the monolith: {e}" for e in self.not_applied_on_legacy[:limit]]
        return lines


def _order_events(engine: Engine, outbox: Any, origin: str) -> list[tuple[str, str, int]]:
    """``(event id, order id, sequence)`` of ``origin``'s order events in an outbox."""
    if not inspect(engine).has_table(outbox.name):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.event_id, outbox.c.aggregate_id, outbox.c.sequence)
            .where(outbox.c.aggregate_type == "order", outbox.c.origin == origin)
            .order_by(outbox.c.id)
        )
        return [(str(uuid.UUID(str(row.event_id))), str(row.aggregate_id), int(row.sequence)) for row in rows]


def _held_sequences(sync: Engine, consumer: str) -> dict[str, int]:
    """The last sequence of each order the consumer applied or was seeded with."""
    if not inspect(sync).has_table("sync_aggregates"):
        return {}
    with sync.connect() as conn:
        rows = conn.execute(
            select(sync_aggregates.c.aggregate_id, sync_aggregates.c.sequence).where(
                sync_aggregates.c.consumer == consumer, sync_aggregates.c.aggregate_type == "order"
            )
        )
        return {str(row.aggregate_id): int(row.sequence) for row in rows}


def _inbox_outcomes(sync: Engine, consumer: str, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not ids or not inspect(sync).has_table("sync_inbox"):
        return found
    with sync.connect() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(sync_inbox.c.event_id, sync_inbox.c.outcome).where(
                    sync_inbox.c.consumer == consumer, sync_inbox.c.event_id.in_(ids[start : start + 500])
                )
            )
            found.update({str(row.event_id): str(row.outcome) for row in rows})
    return found


def _open_order_conflicts(engine: Engine) -> int:
    if not inspect(engine).has_table("sync_conflict"):
        return 0
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(_CONFLICTS)
                .where(_CONFLICTS.c.aggregate_type == "order", _CONFLICTS.c.resolved_at.is_(None))
            )
            or 0
        )


def check_order_history(
    legacy: Engine, sync: Engine, service: Engine, *, consumer: str = "orders", origin: str = "orders"
) -> OrderHistoryReport:
    """The monolith's order events against the orders consumer's inbox (``consumer``, in ``sync``), and
    the orders service's (``origin``, in ``service``) against the monolith's inbox."""
    report = OrderHistoryReport()
    legacy_events = _order_events(legacy, outbox_event, "legacy")
    held = _held_sequences(sync, consumer)
    outcomes = _inbox_outcomes(sync, consumer, [event_id for event_id, _, _ in legacy_events])
    for event_id, order_id, sequence in legacy_events:
        outcome = outcomes.get(event_id)
        if outcome == "rejected":
            report.rejected_on_service.append(event_id)
        elif outcome is None and sequence > held.get(order_id, 0):
            report.not_applied_on_service.append(event_id)
    service_events = [event_id for event_id, _, _ in _order_events(service, service_outbox, origin)]
    applied = (
        present_event_ids(legacy, _LEGACY_INBOX.c.event_id, service_events, as_uuid=True)
        if inspect(legacy).has_table("internal_applied_event")
        else set()
    )
    missing = [event_id for event_id in service_events if event_id not in applied]
    dead = (
        present_event_ids(service, _DEAD_LETTERS.c.event_id, missing)
        if missing and inspect(service).has_table("service_dead_letter")
        else set()
    )
    report.not_applied_on_legacy = [event_id for event_id in missing if event_id not in dead]
    report.open_conflicts = _open_order_conflicts(legacy) + _open_order_conflicts(service)
    return report
