"""The CLI's stored API token: ``$STRANGLER_HOME/secrets/api_token.json``, mode 0600.

Written by ``strangler login`` (or by the first command that had to log in with the admin password
file), read by every later command instead of the password, so the audit log holds one ``login`` row
per token instead of one per command. A token is kept per control-plane URL.

    StoredToken                      token, url, username, scope, expires_at
    load_token(home, url) -> StoredToken | None     None when missing, for another URL, or expired
    save_token(home, stored) -> Path; forget_token(home) -> bool
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["StoredToken", "forget_token", "load_token", "save_token", "token_path"]


@dataclass(frozen=True)
class StoredToken:
    token: str
    url: str
    username: str
    scope: str
    expires_at: str
    """ISO 8601, UTC."""

    def expired(self, now: datetime | None = None) -> bool:
        try:
            expires = datetime.fromisoformat(self.expires_at)
        except ValueError:
            return True
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return expires <= (now or datetime.now(UTC))


def token_path(home: Path) -> Path:
    return home / "secrets" / "api_token.json"


def load_token(home: Path, url: str) -> StoredToken | None:
    """The stored token for ``url`` when it exists and has not expired."""
    path = token_path(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stored = StoredToken(**{key: str(data[key]) for key in StoredToken.__dataclass_fields__})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OSError(f"{path} is not a token file ({exc}): delete it and run `strangler login`") from exc
    if stored.url.rstrip("/") != url.rstrip("/") or stored.expired():
        return None
    return stored


def save_token(home: Path, stored: StoredToken) -> Path:
    """Write the token file 0600 (its folder 0700), replacing any earlier one atomically."""
    path = token_path(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(asdict(stored), handle, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def forget_token(home: Path) -> bool:
    """Delete the stored token; False when there was none."""
    try:
        token_path(home).unlink()
    except FileNotFoundError:
        return False
    return True
