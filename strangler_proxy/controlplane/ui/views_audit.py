"""The audit log with filters (actor, action, target, outcome), newest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.parsing import bounded_int
from strangler_proxy.controlplane.service_layer.audit import AuditEntry, AuditFilter
from strangler_proxy.controlplane.service_layer.clock import as_utc
from strangler_proxy.controlplane.service_layer.denials import DenialFilter
from strangler_proxy.controlplane.ui.diffview import DiffLine, diff_lines
from strangler_proxy.controlplane.ui.web import UI

__all__ = ["AuditRow", "AuditViews"]

AUDIT_LIMIT = 200
KNOWN_ACTIONS = (
    "flip",
    "rollback",
    "panic",
    "reactivate",
    "publish",
    "route.add",
    "route.remove",
    "login",
    "auth",
)


@dataclass(frozen=True)
class AuditRow:
    at: str
    actor: str
    address: str | None
    action: str
    target: str | None
    outcome: str
    version_before: int | None
    version_after: int | None
    reason: str | None
    diff_lines: list[DiffLine]
    evidence: str | None
    evidence_summary: list[str]


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(
        at=as_utc(entry.at).strftime("%Y-%m-%d %H:%M:%S UTC"),
        actor=entry.actor,
        address=entry.address,
        action=entry.action,
        target=entry.target,
        outcome=entry.outcome,
        version_before=entry.version_before,
        version_after=entry.version_after,
        reason=entry.reason,
        diff_lines=diff_lines(entry.diff),
        evidence=json.dumps(entry.evidence, indent=2, sort_keys=True) if entry.evidence else None,
        evidence_summary=_evidence_summary(entry.evidence),
    )


def _evidence_summary(evidence: dict[str, Any] | None) -> list[str]:
    """One line per judged window of a guard's evidence (time and reasons); empty for other evidence."""
    windows = (evidence or {}).get("windows")
    if not isinstance(windows, list):
        return []
    lines = []
    for window in windows:
        if not isinstance(window, dict):
            continue
        second = window.get("second")
        at = datetime.fromtimestamp(second, UTC).strftime("%H:%M:%S") if isinstance(second, int) else "?"
        lines.append(f"{at}  {'; '.join(str(r) for r in window.get('reasons', []))}")
    return lines


class AuditViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/audit", self.page, methods=["GET"], name="ui-audit"),
            Route("/audit/denials", self.denials, methods=["GET"], name="ui-audit-denials"),
        ]

    async def denials(self, request: Request) -> Response:
        """Refused requests, counted per caller, target, reason and minute, newest first."""
        await self.ui.require(request)
        params = request.query_params
        filters = {key: (params.get(key) or "").strip() or None for key in ("actor", "address", "action")}
        before = params.get("before")
        before_id = bounded_int(before, "before", low=1) if before else None
        rows = await run_in_threadpool(
            self.ui.services.denials.search,
            DenialFilter(limit=AUDIT_LIMIT, before_id=before_id, **filters),
        )
        older = None
        if len(rows) == AUDIT_LIMIT:
            query = {k: v for k, v in filters.items() if v} | {"before": str(rows[-1].id)}
            older = f"{request.url.path}?{urlencode(query)}"
        return self.ui.render(
            request,
            "audit_denials.html",
            {
                "page_title": "Refused requests",
                "nav": "audit",
                "filters": filters,
                "rows": [
                    {**row.to_dict(), "minute": as_utc(row.minute).strftime("%Y-%m-%d %H:%M")} for row in rows
                ],
                "older_url": older,
                "retention_days": round(self.ui.services.denials.retention_s / 86400, 1),
            },
        )

    async def page(self, request: Request) -> Response:
        await self.ui.require(request)
        params = request.query_params
        filters = {
            key: (params.get(key) or "").strip() or None for key in ("actor", "action", "target", "outcome")
        }
        before = params.get("before")
        before_id = bounded_int(before, "before", low=1) if before else None
        entries = await run_in_threadpool(
            self.ui.services.audit.search,
            AuditFilter(
                actor=filters["actor"],
                action=filters["action"],
                target=filters["target"],
                outcome=filters["outcome"],
                limit=AUDIT_LIMIT,
                before_id=before_id,
            ),
        )
        older = None
        if len(entries) == AUDIT_LIMIT and entries[-1].id is not None:
            query = {k: v for k, v in filters.items() if v} | {"before": str(entries[-1].id)}
            older = f"{request.url.path}?{urlencode(query)}"
        actions = sorted(set(KNOWN_ACTIONS) | {e.action for e in entries})
        return self.ui.render(
            request,
            "audit.html",
            {
                "page_title": "Audit log",
                "nav": "audit",
                "filters": filters,
                "actions": actions,
                "entries": [_row(e) for e in entries],
                "older_url": older,
            },
        )
