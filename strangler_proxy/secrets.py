"""Secrets generated at first start and kept in files only their owner can read (mode 0600), and a
``STRANGLER_HOME`` whose files (the store with its password hashes, audit and shadow bodies, the logs)
are its owner's only."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

__all__ = ["keep_private", "load_or_create_secret"]

log = logging.getLogger(__name__)

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def keep_private(home: Path, *, files: tuple[Path, ...] = ()) -> None:
    """From now on this process creates files for its owner only (umask 077), and ``home`` (0700), its
    store, logs and secrets found there and ``files`` (0600; an SQLite file with its -wal and -shm) are
    made so. Whatever this process starts inherits the umask. Paths owned by someone else are left alone,
    with a warning."""
    os.umask(0o077)
    home.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY)
    _restrict(home, PRIVATE_DIRECTORY)
    for folder in (home / "logs", home / "secrets"):
        if folder.is_dir():
            _restrict(folder, PRIVATE_DIRECTORY)
            for path in folder.iterdir():
                if path.is_file():
                    _restrict(path, PRIVATE_FILE)
    for path in (home / "store.sqlite3", *files):
        for member in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if member.is_file():
                _restrict(member, PRIVATE_FILE)


def _restrict(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError as exc:
        log.warning("could not make %s private (mode %o): %s", path, mode, exc)


def load_or_create_secret(path: Path, *, nbytes: int = 32) -> str:
    """Return the secret stored at ``path``, creating it (URL-safe random text, mode 0600) when missing.

    The secret is written to a private temporary file and hard-linked into place, so the file appears
    whole or not at all: processes starting together (the data plane's workers) either win the link
    or read the winner's secret, never a file still being written.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return _read(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(nbytes) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use its secret
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise RuntimeError(f"secret file {path} is empty; delete it to have a new secret generated")
    return value
