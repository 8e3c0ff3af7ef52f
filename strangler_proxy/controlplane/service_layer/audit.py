"""The audit log as a service: append one entry, search with filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from strangler_proxy.controlplane.repositories import audit as repo
from strangler_proxy.controlplane.repositories.audit import AuditEntry, AuditFilter
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow

__all__ = ["AuditEntry", "AuditFilter", "AuditService"]


class AuditService:
    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    def record(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        address: str | None = None,
        target: str | None = None,
        reason: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> int:
        entry = AuditEntry(
            at=self._clock(),
            actor=actor,
            action=action,
            outcome=outcome,
            address=address,
            target=target,
            reason=reason,
            evidence=evidence,
        )
        with self._engine.begin() as conn:
            return repo.append(conn, entry)

    def search(self, filters: AuditFilter) -> list[AuditEntry]:
        with self._engine.connect() as conn:
            return repo.query(conn, filters)
