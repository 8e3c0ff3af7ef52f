"""A small client of the control plane's admin API (/api/v1), shared by the CLI and the plan engine.

Credentials: a bearer token (``--token`` / ``STRANGLER_TOKEN``), else a session opened as ``admin`` with
the password in ``$STRANGLER_HOME/secrets/admin_password``. The control plane's address is the given URL,
else ``STRANGLER_ADMIN_URL``, else http://127.0.0.1:$STRANGLER_ADMIN_PORT (8001).

    AdminApiError           any failure, as one message fit for a terminal
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from strangler_proxy.secrets import configured_secret

__all__ = ["AdminApiError", "AdminClient", "default_admin_url"]


class AdminApiError(Exception):
    """A failure to show the user as one clear message."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class AdminClient:
    """Turns HTTP failures into AdminApiError messages; bearer POSTs always carry a JSON body."""

    url: str
    client: httpx2.Client

    @classmethod
    def connect(
        cls, url: str | None, token: str | None, home: Path | None, *, timeout: float = 15.0
    ) -> AdminClient:
        base = (url or os.environ.get("STRANGLER_ADMIN_URL") or default_admin_url()).rstrip("/")
        client = httpx2.Client(
            base_url=base + "/api/v1", timeout=timeout, headers={"Accept": "application/json"}
        )
        admin = cls(base, client)
        token = token or os.environ.get("STRANGLER_TOKEN")
        if token:
            client.headers["Authorization"] = f"Bearer {token}"
        else:
            try:
                admin._login(home)
            except Exception:
                client.close()
                raise
        return admin

    def _login(self, home: Path | None) -> None:
        root = home or Path(os.environ.get("STRANGLER_HOME", ".strangler"))
        password_file = root / "secrets" / "admin_password"
        password = configured_secret("ADMIN_PASSWORD")
        if password is None:
            if not password_file.exists():
                raise AdminApiError(
                    "no credentials: give --token or STRANGLER_TOKEN, set STRANGLER_ADMIN_PASSWORD(_FILE), "
                    f"or run where {password_file} exists"
                )
            password = password_file.read_text(encoding="utf-8").strip()
        self.request("POST", "/session", {"username": "admin", "password": password})

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.client.request(method, path, json=body if method != "GET" else None)
        except httpx2.TransportError as exc:
            raise AdminApiError(
                f"control plane not reachable at {self.url} — is `make run` running? ({exc})"
            ) from exc
        if response.status_code < 400:
            return response.json()
        raise AdminApiError(explain(response), response.status_code)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
