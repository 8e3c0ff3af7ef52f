"""What the routing layer tells the forwarder to do with one request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from strangler_proxy.routes.model import LEGACY, Rule

__all__ = ["UNMATCHED", "UNMATCHED_DECISION", "Decision", "Target"]

UNMATCHED = "-"
"""The ``route`` of a request no rule matched."""


class Target(StrEnum):
    """The side that answers a request."""

    LEGACY = "legacy"
    NEW = "new"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of matching one request against a compiled route table."""

    route: str
    """Rule name, or ``"-"`` when no rule matched."""
    rule: Rule | None
    """The matched rule (its timeouts, max_body_bytes, fault, action.fallback), None when unmatched."""
    target: Target
    """Which side answers."""
    upstream: str
    """Upstream name to forward to: ``"legacy"`` or a new upstream's name."""
    shadow_upstream: str | None = None
    """Set when the request must also be mirrored there (shadow mode, sampled)."""
    set_cookie: bytes | None = None
    """A full Set-Cookie header value to add to the response (canary bucket), or None."""
    overridden: bool = False
    """The side was forced by a valid tester override."""


UNMATCHED_DECISION = Decision(route=UNMATCHED, rule=None, target=Target.LEGACY, upstream=LEGACY)
"""The decision for every request no rule matches (shared, immutable)."""
