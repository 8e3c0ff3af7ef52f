"""What the receiver of a reverse event answered for it: applied, or refused for good (with why).

``MonolithInternalClient.apply_events`` returns one ``EventOutcome`` per event sent; the reverse relay
sets the refused ones aside as dead letters and marks the rest delivered. Unavailability (no answer,
5xx, timeouts) is never an outcome: it raises, and the batch is sent again (idempotent by event id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["REFUSED", "EventOutcome"]

REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class EventOutcome:
    event_id: str
    outcome: str
    """``applied``, ``duplicate`` or ``stale`` as the monolith says, or ``refused``."""
    reason: dict[str, Any] | None = None
    """For a refusal: the receiver's error (``code``, ``message``, ``field``... or ``status``, ``body``)."""

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED
