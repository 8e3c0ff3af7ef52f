"""Secrets generated at first start and kept in files only their owner can read (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["load_or_create_secret"]


def load_or_create_secret(path: Path, *, nbytes: int = 32) -> str:
    """Return the secret stored at ``path``, creating it (URL-safe random text, mode 0600) when missing.

    Creation is atomic (``O_EXCL``): two processes starting together end up with the same secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text(encoding="utf-8").strip()
        if not value:
            message = f"secret file {path} is empty; delete it to have a new secret generated"
            raise RuntimeError(message) from None
        return value
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value
