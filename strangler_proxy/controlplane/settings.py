"""Control-plane settings, read once from the environment (prefix ``STRANGLER_``) into a frozen object."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["ControlPlaneSettings"]


class ControlPlaneSettings(BaseSettings):
    """Everything the control plane needs to start; ``store_url`` defaults to a SQLite file under ``home``."""

    model_config = SettingsConfigDict(env_prefix="STRANGLER_", frozen=True, extra="ignore")

    home: Path = Path(".strangler")
    store_url: str | None = None
    sync_database_url: str | None = None
    """The sync database (``STRANGLER_SYNC_DATABASE_URL``); the relays keep its ``sync_lag`` table current."""
    sync_reverse_directions: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """``upstream=direction,...``: the reverse-sync direction that carries each new upstream's writes, which
    a rollback of its routes drains first (an upstream not named here drains every reverse direction).
    `strangler up` passes strangler.toml's ``[sync] reverse``."""
    sync_outboxes: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """``side=database-url,...`` (``STRANGLER_SYNC_OUTBOXES``): the databases holding each side's outbox and
    inbox, ``legacy`` for the monolith and one per service (``catalog=...``). With them a handover measures
    the old owner's backlog live from those tables; without, from the relays' ``sync_lag`` rows (fresh
    ones only)."""
    sync_resolver: str | None = None
    """``package.module:function`` (``STRANGLER_SYNC_RESOLVER``) building what writes a resolved
    conflict's chosen values to both sides (the ACL's ``acl.catalog.sync.resolve:create_resolver``), loaded by
    name at start; without it a resolution is recorded only."""
    sync_forward_consumers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """``upstream=consumer,...``: the forward consumer whose inbox says a service has the monolith's events
    (default: the consumer named like the upstream)."""
    handover_fence_s: float = Field(default=30.0, ge=2.0, le=600.0)
    """Longest time a handover holds a route's writes (503 + Retry-After) while they change sides."""
    handover_retry_after_s: int = Field(default=1, ge=1, le=60)
    handover_stale_after_s: float = Field(default=5.0, gt=0, le=300)
    """A backlog measure (or ``sync_lag`` row) older than this is unknown, and unknown refuses."""
    admin_host: str = "127.0.0.1"
    admin_port: int = Field(default=8001, ge=1, le=65535)
    dataplane_internal_port: int = Field(default=8002, ge=1, le=65535)
    """The data plane's loopback-only port (``STRANGLER_DATAPLANE_INTERNAL_PORT``): no upstream may point
    at it, or the front door would forward to its metrics and version."""
    admin_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Host names the control plane answers to besides loopback (``127.0.0.1``, ``localhost``, ``[::1]``)
    and ``admin_host`` (``STRANGLER_ADMIN_ALLOWED_HOSTS``, comma separated, ``*.example.com`` for
    subdomains); any other Host header gets 400, so a page on another name that resolves here (DNS
    rebinding) reaches nothing."""
    legacy_url: str = "http://127.0.0.1:8100"
    engine: Literal["dataplane", "haproxy"] = "dataplane"
    """The front door that serves the tables (``STRANGLER_ENGINE``): a publish that would give it a feature
    it cannot serve (shadow mode or fault injection on HAProxy) is refused, naming the feature."""
    upstreams: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Upstreams registered at start when missing: ``name=url,name=url`` (e.g. the stack's services)."""
    session_max_age_s: int = Field(default=12 * 3600, gt=0)
    """A session ends this long after login (or earlier: logout, a password, role or enabled change)."""
    admin_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=64 * 1024)
    """Largest request body the control plane reads (413 beyond); the login endpoints take 8 KiB."""
    trace_ui_request_url: str | None = Field(default=None, pattern=r"^https?://")
    """The trace UI's URL of one request's trace, with ``{request_id}`` or ``{trace_id}``
    (``STRANGLER_TRACE_UI_REQUEST_URL``; see docs/observability.md): shadow mismatches link there."""
    trace_ui_route_errors_url: str | None = Field(default=None, pattern=r"^https?://")
    """The trace UI's URL of a route's failing requests, with ``{route}``
    (``STRANGLER_TRACE_UI_ROUTE_ERRORS_URL``): the routes table's 5xx figures link there."""
    admin_https: bool = False
    """The admin is reached over HTTPS with TLS terminated in front of it (``STRANGLER_ADMIN_HTTPS``): the
    session cookie is then ``Secure`` and named with the ``__Host-`` prefix, as it is when the control
    plane itself serves HTTPS."""
    guards_enabled: bool = True
    guard_interval_s: float = Field(default=0.5, gt=0)
    guard_lag_s: float = Field(default=2.0, ge=0, le=60)
    """Seconds a window is left, once it ended, for the data plane's late flushes before the guards judge
    it (a fraction is fine when the workers flush their stats more often than every second)."""
    upstream_health_timeout_s: float = Field(default=2.0, gt=0)
    stats_retention_s: int = Field(default=3600, ge=60)
    """Per-second stats and shadow counts older than this are deleted (every minute)."""
    audit_denial_retention_s: int = Field(default=30 * 24 * 3600, ge=3600)
    """Refused requests (counted per caller and minute in ``audit_denials``) are kept this long."""

    @field_validator("upstreams", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        return _parse_pairs(value, "STRANGLER_UPSTREAMS", "name=url")

    @field_validator("sync_outboxes", mode="before")
    @classmethod
    def _outboxes(cls, value: object) -> object:
        return _parse_pairs(value, "STRANGLER_SYNC_OUTBOXES", "side=database-url")

    @field_validator("sync_forward_consumers", mode="before")
    @classmethod
    def _consumers(cls, value: object) -> object:
        return _parse_pairs(value, "STRANGLER_SYNC_FORWARD_CONSUMERS", "upstream=consumer")

    @field_validator("admin_allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("sync_reverse_directions", mode="before")
    @classmethod
    def _directions(cls, value: object) -> object:
        pairs = _parse_pairs(value, "STRANGLER_SYNC_REVERSE_DIRECTIONS", "upstream=direction")
        if isinstance(pairs, dict):
            for upstream, direction in pairs.items():
                if not (direction == "reverse" or direction.startswith("reverse:")) or len(direction) > 20:
                    raise ValueError(
                        f"STRANGLER_SYNC_REVERSE_DIRECTIONS: {upstream}={direction} names no reverse "
                        "direction (use 'reverse' or 'reverse:<service>', at most 20 characters)"
                    )
        return pairs

    @property
    def trusted_hosts(self) -> list[str]:
        """What TrustedHostMiddleware accepts: loopback, ``admin_host`` and the configured hosts."""
        hosts = ["127.0.0.1", "localhost", "[::1]"]
        bound = self.admin_host.strip("[]").lower()
        if bound not in ("0.0.0.0", "::", ""):
            hosts.append(f"[{bound}]" if ":" in bound else bound)
        return list(dict.fromkeys([*hosts, *self.admin_allowed_hosts]))

    @property
    def resolved_store_url(self) -> str:
        if self.store_url:
            return self.store_url
        return f"sqlite:///{self.home.resolve() / 'store.sqlite3'}"

    @property
    def resolved_sync_database_url(self) -> str:
        if self.sync_database_url:
            return self.sync_database_url
        return f"sqlite:///{self.home.resolve() / 'sync' / 'sync.sqlite3'}"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def admin_password_file(self) -> Path:
        return self.secrets_dir / "admin_password"


def _parse_pairs(value: object, variable: str, shape: str) -> object:
    """``"a=1, b=2"`` -> ``{"a": "1", "b": "2"}``; anything but a string is left to pydantic."""
    if not isinstance(value, str):
        return value
    pairs = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, target = item.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise ValueError(f"{variable} item {item!r} is not {shape}")
        pairs[name.strip()] = target.strip()
    return pairs
