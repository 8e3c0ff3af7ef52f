"""The SECRET_KEY file under the data directory, created once (mode 0600) and read ever after."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["configured_secret", "load_or_create_secret_key"]


def configured_secret(variable: str) -> str | None:
    """``$variable``, else the content of the file ``${variable}_FILE`` names (compose and Kubernetes
    secrets), else None. A named file that is missing or empty is an error, never a silent default."""
    value = os.environ.get(variable, "").strip()
    file_name = os.environ.get(f"{variable}_FILE", "").strip()
    if value and file_name:
        raise RuntimeError(f"both {variable} and {variable}_FILE are set: keep one")
    if value or not file_name:
        return value or None
    content = Path(file_name).read_text().strip()
    if not content:
        raise RuntimeError(f"{variable}_FILE={file_name}: the file is empty")
    return content


def load_or_create_secret_key(data_dir: Path, filename: str = "secret_key") -> str:
    """Return the key stored in ``data_dir/filename``, creating it atomically on first use.

    The key is written to a private temporary file and hard-linked into place, so a concurrent
    starter (two gunicorn workers, two test processes) either wins the link or reads the winner's key.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / filename
    if path.exists():
        return _read(path)
    temporary = data_dir / f".{filename}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another starter won the race: use its key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"the secret key file {path} is empty; delete it to have a new key generated")
    return key
