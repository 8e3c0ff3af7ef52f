"""What one mirrored request produces, and where it goes (a :class:`ShadowSink`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

__all__ = ["ShadowOutcome", "ShadowSample", "ShadowSink"]


class ShadowOutcome(StrEnum):
    MATCH = "match"
    """Status, chosen headers and normalised bodies agree."""
    MISMATCH = "mismatch"
    """They differ: a sample with a human-readable diff goes with it."""
    ERROR = "error"
    """The new upstream could not be reached, failed mid-response or timed out."""


@dataclass(frozen=True, slots=True)
class ShadowSample:
    """A diff kept for the admin UI."""

    at: datetime
    route: str
    version: int | None
    request_id: str | None
    method: str
    path: str
    legacy_status: int | None
    new_status: int | None
    diff: str
    trace_id: str | None = None
    """The primary request's W3C trace id (32 hex digits), for a link to its trace."""


class ShadowSink(Protocol):
    """Receives every comparison; must be cheap and must not block (it runs on the event loop)."""

    def record(
        self,
        route: str,
        version: int,
        outcome: ShadowOutcome,
        sample: ShadowSample | None,
        *,
        new_status: int | None = None,
        new_latency_s: float | None = None,
    ) -> None:
        """``new_status``/``new_latency_s``: the new side's answer to the mirror, when it answered."""
        ...
