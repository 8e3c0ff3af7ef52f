"""The monolith's internal endpoints (bearer token): reverse-sync apply and session resolution."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2

from acl.errors import LegacyConnectionError, LegacyDataError, LegacyRejected
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

    def apply_events(self, events: Sequence[SyncEvent], *, batch: int = 100) -> list[str]:
        """Apply in order, ``batch`` events per request; returns each event's outcome.

        An event the monolith refuses (malformed, unknown product: ``"refused"``) is logged and passed
        over, since asking again cannot change the answer; unavailability raises, so the caller retries
        the batch (the monolith drops what it already applied by event id).
        """
        outcomes: list[str] = []
        for start in range(0, len(events), batch):
            chunk = events[start : start + batch]
            response = self._request(
                "POST", "/internal/sync/apply", json={"events": [event.to_dict() for event in chunk]}
            )
            results = self._json(response).get("results")
            if not isinstance(results, list) or len(results) != len(chunk):
                raise LegacyDataError("results", results, "expected one result per event sent")
            for event, result in zip(chunk, results, strict=True):
                if "error" in result:
                    log.error(
                        "the monolith refused event %s (%s): %s", event.event_id, event.type, result["error"]
                    )
                    outcomes.append("refused")
                else:
                    outcomes.append(str(result["outcome"]))
        return outcomes

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
