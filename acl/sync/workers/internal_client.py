"""The monolith's internal endpoints (bearer token): reverse-sync apply and session resolution."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2

from acl.errors import LegacyConnectionError, LegacyDataError, LegacyRejected, LegacyResponseError
from acl.legacy_http import LegacyHttpClient
from acl.sync.core.events import SyncEvent, trace_runs
from acl.sync.core.outcomes import REFUSED, EventOutcome
from acl.tracing import event_group_span

__all__ = ["REQUEST_REFUSALS", "MonolithInternalClient", "ResolvedSession"]

log = logging.getLogger(__name__)

REQUEST_REFUSALS = frozenset({400, 413, 422})
"""Statuses by which the monolith refuses a request for what it carries; any other 4xx (401, 403,
404 of a wrong address, 429...) is about the caller's set-up or timing and is retried."""


def _refused(event: SyncEvent, reason: dict[str, Any]) -> EventOutcome:
    log.warning("the monolith refused event %s (%s): %s", event.event_id, event.type, reason)
    return EventOutcome(event.event_id, REFUSED, reason)


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    user_id: int
    username: str
    is_staff: bool
    customer_id: int | None


class MonolithInternalClient(LegacyHttpClient):
    """``LegacyHttpClient`` with the internal token; timeouts, circuit breaker and errors as there."""

    def __init__(self, base_url: str, token: str, **kwargs: Any) -> None:
        if not token:
            raise ValueError("the internal token is empty")
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        super().__init__(base_url, headers=headers, **kwargs)

    def apply_event(self, event: SyncEvent) -> str:
        """POST one reverse event; returns "applied", "duplicate" or "stale" (idempotent by event id)."""
        response = self._request("POST", "/internal/sync/apply", json=event.to_dict())
        return str(self._json(response)["outcome"])

    def apply_events(self, events: Sequence[SyncEvent], *, batch: int = 100) -> list[EventOutcome]:
        """Apply in order, ``batch`` events per request; one ``EventOutcome`` per event.

        The monolith answers a batch with one result per event; an event it refuses (malformed,
        unknown product) comes back ``refused`` with its error, since asking again cannot change the
        answer. A whole batch refused as a request (400, 413, 422) is split in halves until the event
        that causes it is alone, and that one is refused. Unavailability, a 5xx and any other 4xx (a
        token or address problem, not the event's) raise, so the caller sends the batch again (the
        monolith drops what it already applied by event id).
        """
        outcomes: list[EventOutcome] = []
        for group in trace_runs(events):
            context = group[0].trace
            for start in range(0, len(group), batch):
                chunk = group[start : start + batch]
                with event_group_span(
                    "sync apply", context, [e.event_id for e in chunk], [e.type for e in chunk]
                ):
                    outcomes += self._apply_chunk(chunk)
                    if context:  # inside the span: the JSON log line carries the trace id
                        log.info("applied %d event(s) of a traced change in the monolith", len(chunk))
        return outcomes

    def _apply_chunk(self, chunk: Sequence[SyncEvent]) -> list[EventOutcome]:
        try:
            response = self._request(
                "POST", "/internal/sync/apply", json={"events": [event.to_dict() for event in chunk]}
            )
        except LegacyResponseError as exc:
            if exc.status_code not in REQUEST_REFUSALS:
                raise
            if len(chunk) > 1:
                middle = len(chunk) // 2
                return self._apply_chunk(chunk[:middle]) + self._apply_chunk(chunk[middle:])
            reason = {"status": exc.status_code, "body": exc.body}
            return [_refused(chunk[0], reason)]
        results = self._json(response).get("results")
        if not isinstance(results, list) or len(results) != len(chunk):
            raise LegacyDataError("results", results, "expected one result per event sent")
        outcomes = []
        for event, result in zip(chunk, results, strict=True):
            if not isinstance(result, dict) or result.get("event_id") != event.event_id:
                raise LegacyDataError("results", result, f"expected the result of event {event.event_id}")
            if "error" in result:
                error = result["error"]
                outcomes.append(_refused(event, error if isinstance(error, dict) else {"message": error}))
            else:
                outcomes.append(EventOutcome(event.event_id, str(result["outcome"])))
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
