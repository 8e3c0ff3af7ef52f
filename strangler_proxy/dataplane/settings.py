"""The data plane's settings, read once from the environment (prefix ``STRANGLER_``) into a frozen object."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from strangler_proxy.credentials import AUTH_SCHEMES_PATTERN, DEFAULT_AUTH_SCHEMES
from strangler_proxy.dataplane.failing_requests import DEFAULT_PER_ROUTE
from strangler_proxy.dataplane.shutdown_drain import DEFAULT_DRAIN_S
from strangler_proxy.dataplane.unmatched_paths import DEFAULT_TOP
from strangler_proxy.identity_token import identity_key_path
from strangler_proxy.keyring import KeyRing
from strangler_proxy.routes.addresses import OwnSockets
from strangler_proxy.secrets import configured_secret, load_key_ring

__all__ = ["DataPlaneSettings", "load_identity_key", "load_internal_token", "load_override_key"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
INSTANCE_NAME_MAX = 48
"""Worker ids (``NAME:pid``) fit the store's 64 characters."""


class DataPlaneSettings(BaseSettings):
    """Everything a data-plane worker needs; each value overridable by ``STRANGLER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="STRANGLER_", frozen=True, extra="ignore")

    home: Path = Path(".strangler")
    store_url: str = ""
    """Empty means ``sqlite:///$STRANGLER_HOME/store.sqlite3``."""
    legacy_url: str = "http://127.0.0.1:8100"
    admin_host: str = "127.0.0.1"
    admin_port: Annotated[int, Field(ge=1, le=65535)] = 8001
    """The control plane's socket (``STRANGLER_ADMIN_HOST``/``_PORT``), which no upstream may reach."""
    dataplane_host: str = "127.0.0.1"
    dataplane_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    dataplane_internal_host: str = "127.0.0.1"
    """Where the proxy's own endpoints (readiness, metrics, version) listen: a loopback address only."""
    dataplane_internal_port: Annotated[int, Field(ge=1, le=65535)] = 8002
    """Their port (``STRANGLER_DATAPLANE_INTERNAL_PORT``); the public port answers only liveness."""
    dataplane_workers: Annotated[int, Field(ge=1, le=256)] = Field(
        default_factory=lambda: os.cpu_count() or 1
    )
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = ()
    """CIDRs whose X-Forwarded-* headers are kept (comma separated in the environment)."""
    instance_name: Annotated[str, Field(max_length=48, pattern=r"^[^\s]*$")] = ""
    """This data plane's name in the fleet (``STRANGLER_INSTANCE_NAME``): worker ids are ``NAME:pid``.
    Empty means the host name and the home (``web-3:/srv/strangler``), shortened to 48 characters."""
    worker_prune_s: Annotated[float, Field(ge=60, le=30 * 86_400)] = 900.0
    """A worker row silent this long (a worker that died without a clean shutdown, or a data plane cut
    off from the store that long) is deleted by any live worker; a returning worker registers again."""
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.05
    stats_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    """How often per-second aggregates reach the store and the metrics snapshot is refreshed."""
    unmatched_paths_top: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_TOP
    """Path shapes each worker counts, at most, among the requests no rule matched (the most requested
    ones; see ``strangler inventory``)."""
    unmatched_paths_interval_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    """How often each worker writes its unmatched path shapes to the store (one row per shape)."""
    failing_requests_per_route: Annotated[int, Field(ge=1, le=1000)] = DEFAULT_PER_ROUTE
    """Failing requests (5xx answers) each worker keeps per route between two writes to the store: the
    last ones, for the admin UI's list of a route's failing requests with their trace links."""
    failing_requests_interval_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """How often each worker writes the failing requests it kept to the store (nothing when none)."""
    access_log: bool = True
    access_log_path: Path | None = None
    """Where JSON access-log lines go; None writes them to standard output."""
    debug_headers: bool = False
    """Add ``x-strangler-route``, ``-target`` and ``-version`` to every response."""
    upstream_pool_size: Annotated[int, Field(ge=1, le=100_000)] = 512
    """Keep-alive connections per upstream host, per worker."""
    legacy_internal_token: str | None = None
    """Bearer token of the legacy's /internal/ endpoints, used to resolve sessions into identities;
    None reads ``$STRANGLER_HOME/legacy/internal_token`` (the monolith's own file) when it exists."""
    legacy_session_cookie: str = "sessionid"
    identity_auth_schemes: Annotated[str, Field(pattern=AUTH_SCHEMES_PATTERN)] = DEFAULT_AUTH_SCHEMES
    """``Authorization`` schemes resolved into the signed identity (``STRANGLER_IDENTITY_AUTH_SCHEMES``,
    a comma list; strangler_proxy/credentials.py)."""
    read_your_writes_s: Annotated[float, Field(ge=0, le=30)] = 2.0
    """How long a client's read on one side waits for its own write on the other to be synced
    (``STRANGLER_READ_YOUR_WRITES_S``; read_your_writes.py); past it, a read bound for a service is
    served by the legacy. 0 turns read-your-writes off (no cookie, no wait)."""
    read_your_writes_cookie_s: Annotated[float, Field(ge=1, le=3600)] = 30.0
    """How long after a write its position cookie is honoured (``STRANGLER_READ_YOUR_WRITES_COOKIE_S``)."""
    shadow_socket: Path | None = None
    """The shadow process's Unix socket; set by ``python -m strangler_proxy.dataplane`` for its workers
    and its shadow process. None: shadow rules answer from the legacy and mirror nothing."""
    shadow_nice: Annotated[int, Field(ge=0, le=19)] = 10
    """Niceness of the shadow process: mirroring is best effort and yields the CPU to the workers (under
    CPU pressure its backlog grows and the workers drop and count new exchanges)."""
    shadow_idle_priority: bool = True
    """Run the shadow process under ``SCHED_IDLE`` (Linux): it only gets CPU time nothing else wants,
    so mirroring never takes a core from the workers, the upstreams or the clients."""
    store_agent: bool = True
    """On a PostgreSQL store, run one store agent per data plane (``store_agent.py``) that holds the
    host's store connections for all its workers; off: each worker holds two of its own."""
    store_agent_socket: Path | None = None
    """Set by ``python -m strangler_proxy.dataplane`` for its workers when the agent runs."""
    stats_to_store: bool = True
    max_header_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 64 * 1024
    """Request line plus headers; larger requests are refused with 431."""
    header_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    """A request whose headers are not complete this long after it (or its connection) began gets 408."""
    body_idle_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    """A request body with no byte for this long gets 408 (slow-body clients)."""
    min_body_bytes_per_s: Annotated[int, Field(ge=0)] = 1024
    """A request body arriving slower than this on average (checked every body_idle_timeout_s) gets 408."""
    max_response_header_bytes: Annotated[int, Field(ge=8190, le=16 * 1024 * 1024)] = 64 * 1024
    """An upstream answer's status line, each of its header fields, and all its headers together, at
    most this many bytes; past it the client gets 502 ``upstream_headers_too_large``."""
    max_response_headers: Annotated[int, Field(ge=16, le=100_000)] = 256
    """At most this many headers in an upstream answer; past it the client gets 502 as above."""
    websocket_idle_timeout_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    """A relayed WebSocket with no byte either way for this long is closed (1001, "idle timeout")."""
    websocket_max_per_worker: Annotated[int, Field(ge=1)] = 1000
    """Relayed WebSockets one worker keeps open at once; past it a handshake gets 503."""
    websocket_max_per_route: Annotated[int, Field(ge=1)] = 1000
    """Relayed WebSockets one worker keeps open at once on one route; past it a handshake gets 503."""
    websocket_rollback_grace_s: Annotated[float, Field(ge=0, le=3600)] = 5.0
    """When a new table sends a new-side socket's route elsewhere (a rollback, a panic), the socket
    stays open this long, then is closed (1012) so that its client reconnects by the new table."""
    keep_alive_timeout_s: Annotated[float, Field(gt=0, le=600)] = 5.0
    shutdown_drain_s: Annotated[float, Field(gt=0, le=30)] = DEFAULT_DRAIN_S
    """At a worker's graceful shutdown an idle kept-alive connection stays open this long: a request
    already sent on it is served (answered with ``Connection: close``) instead of cut off unanswered."""
    limit_concurrency: Annotated[int, Field(ge=1)] | None = None
    """Connections plus in-flight requests per worker before uvicorn answers 503; None is unlimited."""

    @field_validator("dataplane_internal_host")
    @classmethod
    def _loopback(cls, value: str) -> str:
        if value != "localhost":
            try:
                address = ipaddress.ip_address(value.strip("[]"))
            except ValueError:
                address = None
            if address is None or not address.is_loopback:
                raise ValueError(
                    f"STRANGLER_DATAPLANE_INTERNAL_HOST={value!r}: the internal endpoints listen on a "
                    "loopback address only (127.0.0.1, ::1 or localhost)"
                )
        return value

    @model_validator(mode="after")
    def _two_ports(self) -> DataPlaneSettings:
        if self.dataplane_internal_port == self.dataplane_port:
            raise ValueError(
                f"STRANGLER_DATAPLANE_INTERNAL_PORT and STRANGLER_DATAPLANE_PORT are both "
                f"{self.dataplane_port}: the internal endpoints need a port of their own"
            )
        return self

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[Network, ...]) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(str(n), strict=False) for n in value)

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home.resolve() / 'store.sqlite3'}"

    @property
    def private_sockets(self) -> OwnSockets:
        """The toolkit's own listeners that upstream connections must never reach, whatever the DNS says."""
        return OwnSockets(
            ((self.admin_host, self.admin_port), (self.dataplane_internal_host, self.dataplane_internal_port))
        )

    @property
    def resolved_instance_name(self) -> str:
        """``instance_name``, else ``HOST:HOME`` (the home's tail kept when that is too long)."""
        if self.instance_name:
            return self.instance_name
        host = socket.gethostname()[:24]
        home = str(self.home.resolve())
        room = INSTANCE_NAME_MAX - len(host) - 1
        return f"{host}:{home if len(home) <= room else '~' + home[-(room - 1) :]}"

    @property
    def last_table_path(self) -> Path:
        """The last route table this data plane applied, served when the store is unreachable at start."""
        return self.home / "run" / "dataplane-table.json"

    @property
    def metrics_dir(self) -> Path:
        """Per-worker metric snapshots, merged by whichever worker answers a scrape."""
        return self.home / "run" / "dataplane-metrics"


def load_internal_token(settings: DataPlaneSettings) -> str | None:
    """The legacy's internal bearer token (``STRANGLER_LEGACY_INTERNAL_TOKEN`` or the file
    ``STRANGLER_LEGACY_INTERNAL_TOKEN_FILE`` names, else the monolith's own file in the home), or None."""
    if settings.legacy_internal_token:
        return settings.legacy_internal_token
    configured = configured_secret("LEGACY_INTERNAL_TOKEN")
    if configured is not None:
        return configured
    path = settings.home / "legacy" / "internal_token"
    return path.read_text(encoding="utf-8").strip() or None if path.exists() else None


def load_identity_key(settings: DataPlaneSettings) -> KeyRing:
    """The key that signs X-Strangler-Identity, shared with the services (``STRANGLER_IDENTITY_KEY``
    or ``_FILE``, else generated under ``$STRANGLER_HOME/secrets``); the data plane signs with its
    current key."""
    return load_key_ring("IDENTITY_KEY", identity_key_path(settings.home))


def load_override_key(settings: DataPlaneSettings) -> KeyRing:
    """The tester-override keys (``STRANGLER_OVERRIDE_KEY`` or ``_FILE``, else generated under
    ``$STRANGLER_HOME/secrets``), with the previous key during a rotation's overlap window."""
    return load_key_ring("OVERRIDE_KEY", settings.home / "secrets" / "override.key")
