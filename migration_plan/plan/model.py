"""The migration plan as code: stages of routes, each moved up a ladder of steps behind gates.

    Plan
     ├── upstreams: {name: url}          registered services the stages move routes to
     ├── keep_on_legacy: (prefix, ...)   paths deliberately left to the monolith (inventory)
     └── stages: (Stage, ...)            in the order they are meant to run
          ├── routes: (RouteSpec, ...)   rule definitions: name + match (the route model's RuleMatch)
          ├── upstream                   the service taking the routes over (None: pass-through only)
          └── steps: (Step, ...)         passthrough | shadow | canary (weight) | retire
               └── gates: Gates          shadow, health (5xx, p99 vs legacy), load, sync_lag

A step's gates are checked before the stage enters that step, on the figures of the step it is in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from strangler_proxy.routes import RuleMatch

__all__ = [
    "Gates",
    "HealthGate",
    "LoadGate",
    "Plan",
    "PlanError",
    "RouteSpec",
    "ShadowGate",
    "Stage",
    "Step",
    "SyncLagGate",
    "load_plan",
    "parse_plan",
]

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
StepKind = Literal["passthrough", "shadow", "canary", "retire"]


class PlanError(Exception):
    """The plan file cannot be read or is not a valid plan."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShadowGate(_Frozen):
    """Enough shadow comparisons, agreeing often enough."""

    min_samples: Annotated[int, Field(ge=0)] = 100
    min_parity: Annotated[float, Field(ge=0, le=1)] = 0.99


class HealthGate(_Frozen):
    """The new side against the legacy over the stats window, from /api/v1/stats."""

    min_requests: Annotated[int, Field(ge=0)] = 50
    """New-side requests needed before the figures are trusted."""
    max_5xx_rate: Annotated[float, Field(ge=0, le=1)] = 0.01
    """Absolute ceiling for the new side's 5xx rate."""
    max_5xx_rate_over_legacy: Annotated[float, Field(ge=0, le=1)] = 0.005
    """The new side may exceed the legacy's 5xx rate by this much at most."""
    max_p99_ratio: Annotated[float, Field(gt=0)] = 1.5
    """New p99 must stay within this multiple of the legacy's p99 (plus ``p99_slack_ms``)."""
    p99_slack_ms: Annotated[float, Field(ge=0)] = 20.0
    max_p99_ms: Annotated[float, Field(gt=0)] | None = None
    """Absolute p99 ceiling for the new side; the only p99 check once the legacy serves nothing."""


class LoadGate(_Frozen):
    """A headless locust run through the front door that must meet its thresholds."""

    locustfile: str | None = None
    """Unset: the project's (``[load] locustfile`` of strangler.toml, else the demo's loadtests/shop.py)."""
    users: Annotated[int, Field(ge=1, le=1000)] = 10
    spawn_rate: Annotated[float, Field(gt=0)] = 5.0
    run_time_s: Annotated[int, Field(ge=1, le=3600)] = 30
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.01
    max_p95_ms: Annotated[float, Field(gt=0)] = 500.0
    tags: tuple[str, ...] = ()


class SyncLagGate(_Frozen):
    """Data sync caught up (``python -m acl.sync lag --json``) in the named directions."""

    max_lag_ms: Annotated[float, Field(ge=0)] = 1000.0
    max_backlog: Annotated[int, Field(ge=0)] = 0
    directions: tuple[str, ...] = ()
    """Directions to check (e.g. ``forward``, ``reverse``); empty checks every one reported."""


class Gates(_Frozen):
    window_s: Annotated[int, Field(ge=1, le=3600)] = 60
    """Seconds of live stats the shadow and health gates look at."""
    shadow: ShadowGate | None = None
    health: HealthGate | None = None
    load: LoadGate | None = None
    sync_lag: SyncLagGate | None = None

    def names(self) -> list[str]:
        return [name for name in ("shadow", "health", "load", "sync_lag") if getattr(self, name) is not None]


class Step(_Frozen):
    kind: StepKind
    weight: Annotated[int, Field(ge=1, le=100)] | None = None
    """Canary only: percentage of users on the new side."""
    gates: Gates = Gates()

    @model_validator(mode="after")
    def _weight_for_canary(self) -> Step:
        if self.kind == "canary" and self.weight is None:
            raise ValueError("a canary step needs a weight (1-100)")
        if self.kind != "canary" and self.weight is not None:
            raise ValueError(f"only canary steps take a weight, not {self.kind}")
        return self

    @property
    def label(self) -> str:
        return f"canary {self.weight}%" if self.kind == "canary" else self.kind


class RouteSpec(_Frozen):
    """One rule of the route table the stage owns."""

    name: Annotated[str, Field(pattern=_NAME)]
    match: RuleMatch
    mirror_unsafe_methods: bool = False
    """Shadow POST/PUT/PATCH/DELETE too (the service must roll back requests marked as shadow)."""
    ignore_json_paths: tuple[str, ...] = ()


class Stage(_Frozen):
    name: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    upstream: str | None = None
    routes: Annotated[tuple[RouteSpec, ...], Field(min_length=1)]
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _ladder(self) -> Stage:
        kinds = [step.kind for step in self.steps]
        needs_upstream = [k for k in kinds if k != "passthrough"]
        if needs_upstream and not self.upstream:
            raise ValueError(f"stage {self.name}: steps {', '.join(needs_upstream)} need an upstream")
        order = {"passthrough": 0, "shadow": 1, "canary": 2, "retire": 3}
        ranks = [(order[s.kind], s.weight or 0) for s in self.steps]
        if ranks != sorted(ranks) or len(set(ranks)) != len(ranks):
            raise ValueError(
                f"stage {self.name}: steps must climb (passthrough, shadow, canary by rising weight, "
                f"retire), got {', '.join(s.label for s in self.steps)}"
            )
        return self

    @property
    def migrates(self) -> bool:
        """Whether the stage moves its routes off the monolith at all."""
        return any(step.kind != "passthrough" for step in self.steps)


class Plan(_Frozen):
    name: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    upstreams: dict[str, Annotated[str, Field(pattern=r"^https?://[^/\s]+/?$")]] = Field(default_factory=dict)
    keep_on_legacy: tuple[str, ...] = ()
    stages: Annotated[tuple[Stage, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> Plan:
        stages = [s.name for s in self.stages]
        routes = [r.name for s in self.stages for r in s.routes]
        for what, names in (("stage", stages), ("route", routes)):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} names must be unique: {', '.join(dupes)}")
        return self

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise PlanError(f"no stage {name!r} in plan {self.name} ({', '.join(s.name for s in self.stages)})")


def parse_plan(text: str, *, source: str = "<plan>") -> Plan:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PlanError(f"{source}: a plan is a mapping with name and stages")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(plan)'}: {error['msg']}" for error in exc.errors()
        )
        raise PlanError(f"{source}: invalid plan: {problems}") from exc


def load_plan(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read plan {path}: {exc.strerror or exc}") from exc
    return parse_plan(text, source=str(path))
