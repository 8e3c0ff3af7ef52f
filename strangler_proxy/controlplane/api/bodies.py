"""JSON bodies the API accepts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from strangler_proxy.controlplane.parsing import MAX_ID
from strangler_proxy.controlplane.service_layer.tokens import DEFAULT_TTL_S, MAX_TTL_S
from strangler_proxy.routes import ActionMode, RouteTable, Rule

__all__ = [
    "AddRouteBody",
    "ChangeBody",
    "FlipBody",
    "GuardBody",
    "LoginBody",
    "OverrideBody",
    "PublishBody",
    "ResolveConflictBody",
    "RollbackBody",
    "TokenBody",
    "UpstreamBody",
    "UserBody",
    "UserPatchBody",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeBody(_Body):
    reason: str = Field(default="", max_length=2000)
    expected_version: int | None = Field(default=None, ge=1, le=MAX_ID)


class PublishBody(ChangeBody):
    table: RouteTable
    expected_version: int = Field(ge=1, le=MAX_ID)  # required for a whole table
    dry_run: bool = False


class FlipBody(ChangeBody):
    mode: ActionMode
    weight: int | None = Field(default=None, ge=0, le=100)
    upstream: str | None = None
    mirror_unsafe_methods: bool | None = None
    """Shadow: mirror POST/PUT/PATCH/DELETE too (true) or safe methods only (false); omitted: the rule's."""
    dry_run: bool = False
    force: bool = False
    """Flip even when the old owner's sync was not applied in time (audited with the pending events)."""
    drain_timeout_s: float = Field(default=10.0, ge=0, le=60)


class AddRouteBody(ChangeBody):
    rule: Rule
    position: int | None = Field(default=None, ge=0, le=MAX_ID)
    dry_run: bool = False


class RollbackAllBody(ChangeBody):
    force: bool = False
    """Roll back even when the reverse sync backlog did not drain in time (recorded in the audit)."""
    drain_timeout_s: float = Field(default=10.0, ge=0, le=60)


class RollbackBody(RollbackAllBody):
    to: Literal["previous", "legacy"] = "previous"
    dry_run: bool = False


class TokenBody(_Body):
    name: str = Field(default="cli", min_length=1, max_length=100)
    scope: Literal["viewer", "operator", "admin"] | None = None
    """The most the token may do; default (and at most) the creator's role."""
    expires_in_s: int = Field(default=DEFAULT_TTL_S, ge=60, le=MAX_TTL_S)


class LoginBody(_Body):
    username: str = Field(max_length=150)
    password: str = Field(max_length=1024)
    token: TokenBody | None = None
    """Answer an API token instead of opening a session (``strangler login``): one ``login`` audit row."""


class UpstreamBody(_Body):
    url: str
    breaker: dict[str, Any] | None = None


class UserBody(_Body):
    username: str
    password: str
    role: Literal["viewer", "operator", "admin"] = "viewer"


class UserPatchBody(_Body):
    role: Literal["viewer", "operator", "admin"] | None = None
    disabled: bool | None = None
    password: str | None = None


class GuardBody(_Body):
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)


class OverrideBody(_Body):
    side: Literal["legacy", "new"] = "new"
    ttl_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)


class ResolveConflictBody(_Body):
    keep: Literal["ours", "theirs"]
    reason: str = Field(min_length=1, max_length=2000)
    """``ours``: the side that parked the change keeps its value; ``theirs``: the parked value is right."""
