"""The route-table document: an immutable, versioned snapshot of ordered rules.

A table is what the control plane publishes and every data-plane worker serves. It is plain data
(pydantic, frozen), serialisable to JSON for the store, and knows nothing of how it is matched
or forwarded: the data plane compiles it into its own fast structures.

    RouteTable
     ├── upstreams: {name: Upstream}      "legacy" is always present
     └── rules: (Rule, ...)                first match wins; unmatched requests go to "legacy"
          ├── match: RuleMatch            exact | prefix | pattern, methods, header/cookie predicates
          ├── action: RuleAction          legacy | new | canary (weight, sticky) | shadow
          ├── timeouts: Timeouts
          ├── fault: FaultInjection | None
          └── fence: WriteFence | None    writes held off (503 + Retry-After) during a handover
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "LEGACY",
    "ActionMode",
    "BreakerSettings",
    "FaultInjection",
    "MatchKind",
    "Predicate",
    "RouteTable",
    "Rule",
    "RuleAction",
    "RuleMatch",
    "ShadowSettings",
    "Timeouts",
    "Upstream",
    "WriteFence",
]

LEGACY = "legacy"
"""Name of the upstream that serves every request no rule sends elsewhere."""

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MatchKind(StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"
    PATTERN = "pattern"


class ActionMode(StrEnum):
    LEGACY = "legacy"
    NEW = "new"
    CANARY = "canary"
    SHADOW = "shadow"


class Predicate(_Frozen):
    """A header or cookie condition: present with any value when ``equals`` is None."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    equals: str | None = None


class RuleMatch(_Frozen):
    kind: MatchKind = MatchKind.PREFIX
    path: Annotated[str, Field(min_length=1, max_length=2048)]
    """Exact path, path prefix, or a Python regular expression matched against the whole path."""
    methods: frozenset[str] | None = None
    """Allowed methods, upper case; None matches every method."""
    headers: tuple[Predicate, ...] = ()
    cookies: tuple[Predicate, ...] = ()

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, methods: frozenset[str] | None) -> frozenset[str] | None:
        if methods is None:
            return None
        upper = frozenset(m.upper() for m in methods)
        unknown = upper - HTTP_METHODS
        if unknown:
            raise ValueError(f"unknown HTTP method(s): {', '.join(sorted(unknown))}")
        if not upper:
            raise ValueError("methods must be omitted (all methods) or list at least one method")
        return upper

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str, info) -> str:
        if info.data.get("kind") != MatchKind.PATTERN and not path.startswith("/"):
            raise ValueError(f"path {path!r} must start with '/'")
        return path


class ShadowSettings(_Frozen):
    sample_percent: Annotated[float, Field(ge=0, le=100)] = 100.0
    mirror_unsafe_methods: bool = False
    """Mirror POST/PUT/PATCH/DELETE too; they carry X-Strangler-Shadow: 1 so the service rolls back."""
    compare_headers: tuple[str, ...] = ("content-type",)
    ignore_json_paths: tuple[str, ...] = ()
    """Dotted paths of volatile JSON fields left out of the comparison (``generated_at``, ``items.*.ts``)."""
    max_concurrency: Annotated[int, Field(ge=1, le=10_000)] = 64


class RuleAction(_Frozen):
    mode: ActionMode = ActionMode.LEGACY
    upstream: str | None = None
    """The new upstream for modes new, canary and shadow."""
    weight: Annotated[int, Field(ge=0, le=100)] = 0
    """Canary: percentage of users sent to the new upstream."""
    fallback: Literal["legacy", "none"] = "legacy"
    """What answers a GET/HEAD whose new upstream failed."""
    shadow: ShadowSettings = ShadowSettings()


class Timeouts(_Frozen):
    connect_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    read_s: Annotated[float, Field(gt=0, le=600)] = 30.0


class FaultInjection(_Frozen):
    """Drill fault: delay and/or abort a share of the requests sent to one side."""

    target: Literal["legacy", "new", "both"] = "new"
    percent: Annotated[float, Field(ge=0, le=100)] = 100.0
    delay_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    abort_status: Annotated[int, Field(ge=400, le=599)] | None = None


class WriteFence(_Frozen):
    """Writes held off a route while the side that owns them changes (a handover).

    Until ``until`` (seconds since the epoch, UTC) the front door answers the route's unsafe methods
    (POST, PUT, PATCH, DELETE) itself with ``503`` and ``Retry-After: retry_after_s``; reads pass. The
    window is bounded: a fence whose control plane never lifted it ends by itself at ``until``.
    """

    until: float
    retry_after_s: Annotated[int, Field(ge=1, le=3600)] = 1


class Rule(_Frozen):
    name: Annotated[str, Field(pattern=_NAME)]
    match: RuleMatch
    action: RuleAction = RuleAction()
    timeouts: Timeouts = Timeouts()
    max_body_bytes: Annotated[int, Field(ge=0)] = 10 * 1024 * 1024
    fault: FaultInjection | None = None
    fence: WriteFence | None = None


class BreakerSettings(_Frozen):
    failure_threshold: Annotated[int, Field(ge=1)] = 5
    """Consecutive failures that open the breaker."""
    open_s: Annotated[float, Field(gt=0)] = 5.0
    """Time the breaker stays open before letting one trial request through (half-open)."""


class Upstream(_Frozen):
    name: Annotated[str, Field(pattern=_NAME)]
    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+/?$")]
    """Scheme, host and port only, e.g. ``http://127.0.0.1:8201``."""
    breaker: BreakerSettings = BreakerSettings()


class RouteTable(_Frozen):
    """One version of the route table. ``version`` is assigned by the store on publish."""

    version: int = 0
    upstreams: dict[str, Upstream]
    rules: tuple[Rule, ...] = ()

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, document: str | bytes) -> RouteTable:
        return cls.model_validate_json(document)

    def with_version(self, version: int) -> RouteTable:
        return self.model_copy(update={"version": version})

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)
