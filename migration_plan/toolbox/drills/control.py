"""What a drill asks of the control plane, over its admin API: the drilled route, its guard, faults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from migration_plan.admin_client import AdminApiError, AdminClient

__all__ = ["DRILL_GUARD", "DRILL_TIMEOUTS", "DrillControl"]

DRILL_TIMEOUTS = {"connect_s": 1.0, "read_s": 5.0}
"""A read of the drilled route that takes longer than this falls back to the legacy (GET/HEAD) instead
of hanging.

No scenario relies on the read timeout to show its fault (a stopped service refuses connections; the
slow one is 400 ms late), and the same timeout bounds the legacy's answer after a fallback: on a
loaded two-core machine the whole stack's p99 reached 2.7 s, which a 2 s timeout turned into 504s."""

DRILL_GUARD = {"failing_windows": 2, "min_requests": 5}
"""Two consecutive failing 1-second windows roll back (the default of 5 suits production, not drills)."""


@dataclass
class DrillControl:
    admin: AdminClient
    route: str
    upstream: str
    match: dict[str, Any] | None = None
    """The match of the route :meth:`ensure_route` creates (None: the route must exist)."""
    created: bool = False
    """Whether :meth:`ensure_route` created the route (:meth:`remove_created` removes it)."""

    def ensure_route(self) -> None:
        """Create the drilled route (served by legacy, first in the table so that it takes the requests
        it matches) when the active table lacks it."""
        try:
            self.admin.request("GET", f"/routes/{self.route}")
            return
        except AdminApiError as exc:
            if exc.status != 404:
                raise
        if self.match is None:
            raise AdminApiError(
                f"no route {self.route!r} in the route table, and no match to create it with "
                "(set [drills] match in strangler.toml, or pass --route /a/path)",
                404,
            )
        rule = {"name": self.route, "match": self.match, "timeouts": DRILL_TIMEOUTS}
        body = {"rule": rule, "position": 0, "reason": f"drill: create {self.route}"}
        self.admin.request("POST", "/routes", body)
        self.created = True

    def remove_created(self) -> None:
        """Remove the route when this drill created it (the table is left as the drill found it)."""
        if not self.created:
            return
        self.admin.request("DELETE", f"/routes/{self.route}", {"reason": f"drill: remove {self.route}"})
        self.created = False

    def guard_settings(self) -> dict[str, Any] | None:
        """The route's guard as configured now ({enabled, settings}), None when the route has none."""
        for guard in self.admin.request("GET", "/guards")["guards"]:
            if guard["route"] == self.route:
                return {"enabled": guard["enabled"], "settings": dict(guard["settings"])}
        return None

    def restore_guard(self, saved: dict[str, Any] | None) -> None:
        """Put the guard back as ``guard_settings()`` found it (the defaults when the route had none)."""
        body = saved if saved is not None else {"enabled": True, "settings": {}}
        self.admin.request("PUT", f"/guards/{self.route}", body)

    def configure_guard(self, settings: dict[str, Any] | None = None) -> None:
        body = {"enabled": True, "settings": {**DRILL_GUARD, **(settings or {})}}
        self.admin.request("PUT", f"/guards/{self.route}", body)

    def rule(self) -> dict[str, Any]:
        return dict(self.admin.request("GET", f"/routes/{self.route}")["rule"])

    def mode(self) -> str:
        return str(self.rule()["action"]["mode"])

    def flip(self, mode: str, reason: str, weight: int | None = None) -> dict[str, Any]:
        body = {"mode": mode, "reason": reason, "weight": weight}
        if mode != "legacy":
            body["upstream"] = self.upstream
        return dict(self.admin.request("POST", f"/routes/{self.route}/flip", body))

    def rollback(self, reason: str) -> dict[str, Any]:
        body = {"to": "legacy", "reason": reason}
        return dict(self.admin.request("POST", f"/routes/{self.route}/rollback", body))

    def panic(self, reason: str) -> dict[str, Any]:
        return dict(self.admin.request("POST", "/panic", {"reason": reason}))

    def set_fault(self, fault: dict[str, Any] | None, reason: str) -> dict[str, Any]:
        """Publish the active table with ``fault`` on the drilled route (None removes it)."""
        active = self.admin.request("GET", "/versions/active")
        table = active["table"]
        rules = [{**rule, "fault": fault} if rule["name"] == self.route else rule for rule in table["rules"]]
        body = {"table": {**table, "rules": rules}, "expected_version": active["version"], "reason": reason}
        return dict(self.admin.request("POST", "/versions", body))

    def guard(self) -> dict[str, Any]:
        for guard in self.admin.request("GET", "/guards")["guards"]:
            if guard["route"] == self.route:
                return dict(guard)
        return {"route": self.route, "status": "idle"}

    def guard_rollbacks(self, since: datetime) -> list[dict[str, Any]]:
        """Audit entries of rollbacks the guard made on the drilled route since ``since``, oldest first."""
        query = f"/audit?actor=guard&target={quote(self.route)}&since={quote(since.isoformat())}&limit=20"
        entries = self.admin.request("GET", query)["entries"]
        return sorted(entries, key=lambda entry: entry["at"])

    def guard_rollbacks_elsewhere(self, since: datetime) -> list[dict[str, Any]]:
        """Rollbacks the guards made on routes other than the drilled one since ``since``, oldest first:
        a drill must not move the rest of the table (its load may have been more than the stack sustains)."""
        query = f"/audit?actor=guard&since={quote(since.isoformat())}&limit=50"
        entries = self.admin.request("GET", query)["entries"]
        others = [
            entry
            for entry in entries
            if entry.get("action") == "rollback" and entry.get("target") != self.route
        ]
        return sorted(others, key=lambda entry: entry["at"])
