"""The monolith's internal endpoints (bearer token): reverse-sync apply and session resolution."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2

from acl.errors import LegacyConnectionError, LegacyNotFound, LegacyRejected
from acl.legacy_client import LegacyClient
from acl.sync.events import SyncEvent

__all__ = ["MonolithInternalClient", "ResolvedSession"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    user_id: int
    username: str
    is_staff: bool
    customer_id: int | None


class MonolithInternalClient(LegacyClient):
    """``LegacyClient`` with the internal token; timeouts, circuit breaker and errors as there."""

    def __init__(self, base_url: str, token: str, **kwargs: Any) -> None:
        if not token:
            raise ValueError("the internal token is empty")
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        super().__init__(base_url, headers=headers, **kwargs)

    def apply_event(self, event: SyncEvent) -> str:
        """POST one reverse event; returns "applied", "duplicate" or "stale" (idempotent by event id)."""
        response = self._request("POST", "/internal/sync/apply", json=event.to_dict())
        return str(self._json(response)["outcome"])

    def apply_events(self, events: Sequence[SyncEvent]) -> None:
        """Apply in order. A refused event (4xx: malformed, unknown product) is logged and passed over,
        since asking again cannot change the answer; unavailability raises, so the batch is retried."""
        for event in events:
            try:
                self.apply_event(event)
            except (LegacyRejected, LegacyNotFound) as exc:
                log.error(
                    "the monolith refused event %s (%s): %s %s", event.event_id, event.type, exc, exc.body
                )

    def resolve_session(self, session_key: str) -> ResolvedSession | None:
        """The user behind a ``sessionid`` cookie value, or None when the session is unknown or expired."""
        path = "/internal/session/resolve"
        try:
            # Not through _request: the key travels in a header, never in a URL that access logs keep.
            response = self._http.get(path, headers={"X-Legacy-Session": session_key})
        except httpx2.HTTPError as exc:
            raise LegacyConnectionError(f"GET {path}: {exc!r}", method="GET", url=path) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LegacyRejected(
                f"GET {path}: the monolith answered {response.status_code}",
                status_code=response.status_code,
                body=response.text[:2000],
                method="GET",
                url=path,
            )
        body = self._json(response)
        return ResolvedSession(
            user_id=int(body["user_id"]),
            username=str(body["username"]),
            is_staff=bool(body["is_staff"]),
            customer_id=body["customer_id"],
        )
