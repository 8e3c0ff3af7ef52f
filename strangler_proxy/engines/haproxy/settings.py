"""The HAProxy engine's settings, read once from the environment (prefix ``STRANGLER_``).

The front door keeps the data plane's names (``STRANGLER_DATAPLANE_PORT``, the header and keep-alive
timeouts, ``STRANGLER_DEBUG_HEADERS``...), so ``strangler up --engine haproxy`` serves the same address
with the same timeouts; ``STRANGLER_ENGINE_*`` are the engine's own (its header limit among them).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from strangler_proxy.credentials import AUTH_SCHEMES_PATTERN, DEFAULT_AUTH_SCHEMES
from strangler_proxy.identity_token import identity_key_path
from strangler_proxy.keyring import KeyRing
from strangler_proxy.secrets import configured_secret, load_key_ring

__all__ = ["EngineSettings"]


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRANGLER_", frozen=True, extra="ignore")

    home: Path = Path(".strangler")
    store_url: str = ""
    """Empty means ``sqlite:///$STRANGLER_HOME/store.sqlite3``."""
    legacy_url: str = "http://127.0.0.1:8100"
    dataplane_host: str = "127.0.0.1"
    dataplane_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    engine_status_port: Annotated[int, Field(ge=1, le=65535)] = 8010
    """Loopback only: the engine's /_strangler/version, /_strangler/readyz and Prometheus /metrics."""
    engine_threads: Annotated[int, Field(ge=1, le=64)] = Field(default_factory=lambda: os.cpu_count() or 1)
    engine_binary: str = "haproxy"
    """A path, or a name looked up on PATH and then in /usr/sbin (where Debian installs it)."""
    engine_identity_port: Annotated[int, Field(ge=0, le=65535)] = 0
    """The identity sidecar's loopback port; 0 picks a free one (HAProxy is told which)."""
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.05
    stats_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    verify_timeout_s: Annotated[float, Field(gt=0, le=600)] = 15.0
    """How long a publish may take to be served before the agent reports it failed (and tries again)."""
    engine_stop_grace_s: Annotated[float, Field(ge=1, le=600)] = 8.0
    """How long HAProxy may finish its requests when stopping or reloading (``hard-stop-after``); below
    the supervisor's own grace (10 s), so a stop is never cut short by it."""
    header_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    body_idle_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    keep_alive_timeout_s: Annotated[float, Field(gt=0, le=600)] = 5.0
    engine_max_header_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 15 * 1024
    """The request line and headers HAProxy accepts (400 beyond): its buffer is this plus 1 KiB. The data
    plane takes 64 KiB; raising this to match costs HAProxy about 60 % more instructions per request,
    since it copies whole buffers (docs/performance.md)."""
    debug_headers: bool = False
    legacy_session_cookie: str = "sessionid"
    identity_auth_schemes: Annotated[str, Field(pattern=AUTH_SCHEMES_PATTERN)] = DEFAULT_AUTH_SCHEMES
    """``Authorization`` schemes resolved into the signed identity, as for the data plane."""
    legacy_internal_token: str | None = None

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home.resolve() / 'store.sqlite3'}"

    @property
    def resolved_binary(self) -> str:
        found = shutil.which(self.engine_binary) or shutil.which(self.engine_binary, path="/usr/sbin")
        return found or self.engine_binary

    @property
    def run_dir(self) -> Path:
        return self.home / "run" / "haproxy"

    def override_keys(self) -> KeyRing:
        """The override keys: the current one, and the previous one during a rotation's overlap window
        (HAProxy honours it until the window's end, read from its clock per request)."""
        return load_key_ring("OVERRIDE_KEY", self.home / "secrets" / "override.key")

    def identity_key(self) -> KeyRing:
        return load_key_ring("IDENTITY_KEY", identity_key_path(self.home))

    def internal_token(self) -> str | None:
        """The legacy's internal bearer token (setting or ``_FILE``, else the monolith's file), or None."""
        if self.legacy_internal_token:
            return self.legacy_internal_token
        configured = configured_secret("LEGACY_INTERNAL_TOKEN")
        if configured is not None:
            return configured
        path = self.home / "legacy" / "internal_token"
        return (path.read_text(encoding="utf-8").strip() or None) if path.exists() else None
