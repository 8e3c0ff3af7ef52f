"""Where the engine's files live and what its configuration is given besides the route table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["EngineLayout", "IdentityHook"]


@dataclass(frozen=True)
class IdentityHook:
    """The Python sidecar that resolves sessions into signed identities (see ``identity_sidecar.py``)."""

    url: str
    """``http://127.0.0.1:<port>/identity``"""
    token: str
    """Shared between HAProxy and the sidecar, so nothing else on the machine can ask it."""
    session_cookie: str
    auth_schemes: tuple[str, ...] = ("basic",)
    """``Authorization`` schemes resolved (lower-case; strangler_proxy/credentials.py)."""
    cache_key: bytes = b""
    """HAProxy's answers are cached under an HMAC-SHA256 of the credential with this key (random per
    start), never under the credential itself."""


@dataclass(frozen=True)
class EngineLayout:
    """Everything the rendered configuration names besides the table: paths, ports, limits, keys."""

    run_dir: Path
    """The configuration, the map and the Lua hook (mode 0700: the configuration holds the override key)."""
    socket_dir: Path
    """A short private directory for the Unix sockets (a path to a socket must fit in 107 bytes)."""
    front_host: str
    front_port: int
    status_port: int
    log_address: str
    """``127.0.0.1:<port>``: the agent's TCP socket for the per-request log lines."""
    override_key: bytes
    override_previous: bytes | None = None
    """The override key being rotated out, honoured until ``override_previous_until``."""
    override_previous_until: float | None = None
    """Epoch seconds: the end of the previous override key's overlap window."""
    session_cookie: str = "sessionid"
    threads: int = 1
    header_timeout_s: float = 10.0
    keep_alive_timeout_s: float = 5.0
    client_timeout_s: float = 30.0
    stop_grace_s: float = 10.0
    max_header_bytes: int = 15 * 1024
    debug_headers: bool = False
    identity: IdentityHook | None = None

    @property
    def config_path(self) -> Path:
        return self.run_dir / "haproxy.cfg"

    @property
    def map_path(self) -> Path:
        return self.run_dir / "table.map"

    @property
    def exact_map_path(self) -> Path:
        return self.run_dir / "exact.map"

    @property
    def prefix_map_path(self) -> Path:
        return self.run_dir / "prefix.map"

    @property
    def admin_socket(self) -> Path:
        return self.socket_dir / "admin.sock"

    @property
    def master_socket(self) -> Path:
        return self.socket_dir / "master.sock"

    @property
    def lua_path(self) -> Path:
        return self.run_dir / "identity.lua"

    @property
    def bufsize(self) -> int:
        """HAProxy's buffer: the request line and headers must fit in it, less its 1 KiB reserve. A
        larger buffer costs every request (HAProxy copies whole buffers): see docs/performance.md."""
        return max(16384, self.max_header_bytes + 1024)
