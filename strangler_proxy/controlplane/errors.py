"""Errors of the control plane's service layer, each with the HTTP status the API answers with.

ControlPlaneError (500)
 ├── BadRequest (400)
 ├── Unauthenticated (401)
 ├── Forbidden (403)
 ├── NotFound (404)
 ├── StaleVersion (409)        the expected active version is no longer active
 ├── SyncNotDrained (409)      a handover found the old owner's sync not applied in time (or unknown)
 ├── Conflict (409)            e.g. a name that already exists
 ├── Refused (422)             the route table or the upstream failed validation; ``problems`` says why
 └── Stopping (503)            the control plane is stopping: a change still waiting was not made
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "BadRequest",
    "Conflict",
    "ControlPlaneError",
    "Forbidden",
    "NotFound",
    "Refused",
    "StaleVersion",
    "Stopping",
    "SyncNotDrained",
    "TooManyRequests",
    "Unauthenticated",
]


class ControlPlaneError(Exception):
    status_code = 500
    code = "error"

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.problems:
            body["problems"] = self.problems
        return body


class BadRequest(ControlPlaneError):
    status_code = 400
    code = "bad_request"


class Unauthenticated(ControlPlaneError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(ControlPlaneError):
    status_code = 403
    code = "forbidden"


class NotFound(ControlPlaneError):
    status_code = 404
    code = "not_found"


class Conflict(ControlPlaneError):
    status_code = 409
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, expected: int, active: int) -> None:
        super().__init__(f"version {expected} is no longer active (active is {active}); reload and try again")
        self.expected = expected
        self.active = active

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "expected_version": self.expected, "active_version": self.active}


class SyncNotDrained(Conflict):
    """The old owner's outbound sync was not applied by the other side in time (or could not be measured:
    a backlog of None is unknown, and unknown refuses too)."""

    code = "sync_not_drained"
    evidence: dict[str, object] | None = None
    """What the handover measured (audited with the refusal)."""

    def __init__(
        self, backlogs: Mapping[str, int | None], *, pending_events: Mapping[str, list[str]] | None = None
    ) -> None:
        self.backlog = sum(count for count in backlogs.values() if count)
        self.backlogs = dict(backlogs)
        self.unknown = sorted(direction for direction, count in backlogs.items() if count is None)
        self.pending_events = dict(pending_events or {})
        waiting = ", ".join(f"{direction}: {count}" for direction, count in backlogs.items() if count)
        kinds = {direction.split(":")[0] for direction in backlogs}
        kind = f"{kinds.pop()} sync" if len(kinds) == 1 else "sync"
        parts = [f"{kind} backlog is {self.backlog} events ({waiting})"] if self.backlog else []
        if self.unknown:
            parts.append(f"backlog unknown for {', '.join(self.unknown)} (no fresh measure)")
        super().__init__("; ".join(parts) + "; retry, wait, or force")

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "backlog": self.backlog,
            "backlogs": self.backlogs,
            "unknown": self.unknown,
        }


class Refused(ControlPlaneError):
    status_code = 422
    code = "refused"


class TooManyRequests(ControlPlaneError):
    status_code = 429
    code = "too_many_requests"


class Stopping(ControlPlaneError):
    """The control plane began to stop while a change waited in a handover: the change was not made, the
    fence was lifted, the route's writes stay with their owner. Answered with ``Retry-After``."""

    status_code = 503
    code = "control_plane_stopping"
    evidence: dict[str, object] | None = None
    """What the handover measured before it stopped (audited with the refusal)."""

    def __init__(self, routes: list[str], *, retry_after_s: int = 5) -> None:
        super().__init__(
            f"the control plane is stopping: the change was not made and the writes of {', '.join(routes)} "
            f"stay with their owner; retry once it is back (in {retry_after_s} s or so)"
        )
        self.retry_after_s = retry_after_s
