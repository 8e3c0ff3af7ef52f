"""A small client of the control plane's admin API (/api/v1), shared by the CLI and the plan engine.

Credentials, in order: a bearer token (``--token`` / ``STRANGLER_TOKEN``); the API token stored by
``strangler login`` under the home's secrets; else the admin password (``STRANGLER_ADMIN_PASSWORD``
or ``STRANGLER_ADMIN_PASSWORD_FILE``, else ``$STRANGLER_HOME/secrets/admin_password``), exchanged
once for an API token that is stored there for the next commands (one ``login`` audit row, not one
per command). The home is found as migration_plan.home says (``--home``, ``STRANGLER_HOME``, the
project file's, the default). The control plane's address is the given URL, else
``STRANGLER_ADMIN_URL``, else http://127.0.0.1:$STRANGLER_ADMIN_PORT (8001).

    AdminApiError           any failure, as one message fit for a terminal
     ├── Unreachable        the control plane did not answer
     └── NoCredentials      no token and no password to log in with
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from migration_plan.credentials import StoredToken, forget_token, load_token, save_token
from migration_plan.home import find_home
from strangler_proxy.secrets import configured_secret

__all__ = [
    "CLI_TOKEN_TTL_S",
    "AdminApiError",
    "AdminClient",
    "NoCredentials",
    "Unreachable",
    "default_admin_url",
    "token_login",
]

CLI_TOKEN_TTL_S = 30 * 24 * 3600
"""How long the token the CLI asks for lives (the server caps it at its own maximum)."""


class AdminApiError(Exception):
    """A failure to show the user as one clear message."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(AdminApiError):
    """The control plane did not answer."""


class NoCredentials(AdminApiError):
    """Nothing to authenticate with."""


@dataclass
class AdminClient:
    """Turns HTTP failures into AdminApiError messages; bearer POSTs always carry a JSON body."""

    url: str
    client: httpx2.Client
    stored_home: Path | None = field(default=None)
    """Set when the bearer token came from the home's token file (forgotten when refused)."""

    @classmethod
    def connect(
        cls, url: str | None, token: str | None, home: Path | None, *, timeout: float = 15.0
    ) -> AdminClient:
        admin = cls.anonymous(url, timeout=timeout)
        client = admin.client
        token = token or os.environ.get("STRANGLER_TOKEN")
        try:
            if not token:
                token = admin._stored_or_new_token(find_home(home))
        except Exception:
            client.close()
            raise
        client.headers["Authorization"] = f"Bearer {token}"
        return admin

    @classmethod
    def anonymous(cls, url: str | None, *, timeout: float = 15.0) -> AdminClient:
        """A client without credentials (to log in)."""
        base = (url or os.environ.get("STRANGLER_ADMIN_URL") or default_admin_url()).rstrip("/")
        client = httpx2.Client(
            base_url=base + "/api/v1", timeout=timeout, headers={"Accept": "application/json"}
        )
        return cls(base, client)

    def _stored_or_new_token(self, home: Path) -> str:
        try:
            stored = load_token(home, self.url)
        except OSError as exc:
            raise AdminApiError(str(exc)) from exc
        if stored is not None:
            self.stored_home = home
            return stored.token
        password_file = home / "secrets" / "admin_password"
        password = configured_secret("ADMIN_PASSWORD")
        if password is None:
            if not password_file.exists():
                raise NoCredentials(
                    "no credentials: run `strangler login`, give --token or STRANGLER_TOKEN, set "
                    "STRANGLER_ADMIN_PASSWORD(_FILE), or --home the state directory whose secrets hold "
                    f"admin_password (looked in {home})"
                )
            password = password_file.read_text(encoding="utf-8").strip()
        issued = token_login(self, "admin", password, scope=None, ttl_s=CLI_TOKEN_TTL_S)
        try:
            save_token(home, issued)
        except OSError:
            return issued.token  # a read-only home: this command uses the token, the next logs in again
        self.stored_home = home
        return issued.token

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.client.request(method, path, json=body if method != "GET" else None)
        except httpx2.TransportError as exc:
            raise Unreachable(
                f"control plane not reachable at {self.url} — is `make run` running? ({exc})"
            ) from exc
        if response.status_code < 400:
            return response.json()
        if response.status_code == 401 and self.stored_home is not None:
            forget_token(self.stored_home)
            raise AdminApiError(
                "the stored API token is no longer valid (expired, revoked or its user changed); it was "
                "forgotten: run the command again, or `strangler login`",
                401,
            )
        raise AdminApiError(explain(response), response.status_code)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def token_login(
    admin: AdminClient, username: str, password: str, *, scope: str | None, ttl_s: int
) -> StoredToken:
    """Exchange a password for an API token (no session; one ``login`` audit row)."""
    wanted: dict[str, Any] = {"name": f"cli@{socket.gethostname()}"[:100], "expires_in_s": ttl_s}
    if scope:
        wanted["scope"] = scope
    answer = admin.request("POST", "/session", {"username": username, "password": password, "token": wanted})
    return StoredToken(
        token=answer["token"],
        url=admin.url,
        username=answer["username"],
        scope=answer["role"],
        expires_at=answer["expires_at"],
    )


def default_admin_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('STRANGLER_ADMIN_PORT', '8001')}"


def explain(response: httpx2.Response) -> str:
    """One line saying what went wrong, from the API's error body."""
    try:
        data = response.json()
    except ValueError:
        data = {"message": response.text.strip()[:300]}
    if not isinstance(data, dict):
        data = {"message": str(data)[:300]}
    message = str(data.get("message", ""))
    status = response.status_code
    if status == 401:
        return f"not authenticated (401): {message}; give a valid --token or STRANGLER_TOKEN"
    if status == 403:
        return f"not allowed (403): {message}"
    if status == 409:
        return f"conflict (409): {message}"
    if status == 422:
        problems = "".join(f"\n  - {p}" for p in data.get("problems", []))
        return f"refused (422): {message}{problems}"
    return f"{response.request.method} {response.request.url.path} failed ({status}): {message}"
