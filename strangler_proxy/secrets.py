"""Secrets: configured for a fleet, or generated at first start and kept in files only their owner can
read (mode 0600); and a ``STRANGLER_HOME`` whose files (the store with its password hashes, audit and
shadow bodies, the logs) are its owner's only.

Every secret has a NAME (``IDENTITY_KEY``, ``OVERRIDE_KEY``, ``SESSION_KEY``, ``ADMIN_PASSWORD``,
``LEGACY_INTERNAL_TOKEN``...) and is taken from, in this order:

1. ``STRANGLER_<NAME>``: the value itself;
2. ``STRANGLER_<NAME>_FILE``: a file holding it (the form Kubernetes and compose secrets mount);
3. a file under ``STRANGLER_HOME``, generated there on first use when the secret may be generated.

Setting both 1 and 2, or naming a missing or empty file, is an error that says which variable to fix:
a fleet must never fall back to a key of its own by accident. Keys that sign (identity, override) also
accept ``STRANGLER_<NAME>_PREVIOUS`` (or ``_PREVIOUS_FILE``) with ``STRANGLER_<NAME>_PREVIOUS_UNTIL``
(ISO 8601 time with a zone, or Unix seconds): the key being rotated out, which keeps verifying until
then (:class:`strangler_proxy.keyring.KeyRing`). :func:`rotate_secret` does the same for a home's file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from strangler_proxy.keyring import KeyRing

__all__ = [
    "SecretError",
    "configured_secret",
    "keep_private",
    "load_key_ring",
    "load_or_create_secret",
    "resolve_secret",
    "rotate_secret",
]

log = logging.getLogger(__name__)

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


class SecretError(RuntimeError):
    """A secret is configured in a way that cannot be used (the message says which variable to fix)."""


def configured_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """``STRANGLER_<name>``, else the content of the file ``STRANGLER_<name>_FILE`` names, else None."""
    env = os.environ if environ is None else environ
    variable, file_variable = f"STRANGLER_{name}", f"STRANGLER_{name}_FILE"
    value, file_name = env.get(variable, "").strip(), env.get(file_variable, "").strip()
    if value and file_name:
        raise SecretError(f"both {variable} and {file_variable} are set: keep one")
    if value:
        return value
    if not file_name:
        return None
    path = Path(file_name)
    try:
        content = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"{file_variable}={file_name}: cannot read the secret: {exc.strerror}") from exc
    if not content:
        raise SecretError(f"{file_variable}={file_name}: the file is empty")
    return content


def resolve_secret(
    name: str, home_file: Path, *, environ: Mapping[str, str] | None = None, nbytes: int = 32
) -> str:
    """The secret ``name`` as configured (:func:`configured_secret`), else the one kept in
    ``home_file`` (generated there on first use)."""
    configured = configured_secret(name, environ)
    if configured is not None:
        return configured
    return load_or_create_secret(home_file, nbytes=nbytes)


def _previous_file(home_file: Path) -> Path:
    return home_file.with_name(home_file.name + ".previous")


def _window_end(text: str, variable: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SecretError(f"{variable}={text!r}: not Unix seconds nor an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise SecretError(f"{variable}={text!r}: give the time zone (for example 2026-12-05T12:00:00+00:00)")
    return moment.timestamp()


def load_key_ring(
    name: str, home_file: Path, *, environ: Mapping[str, str] | None = None, nbytes: int = 32
) -> KeyRing:
    """The signing key ``name`` (:func:`resolve_secret`) with the key it replaces, if one is still
    within its overlap window: ``STRANGLER_<name>_PREVIOUS[_FILE]`` until
    ``STRANGLER_<name>_PREVIOUS_UNTIL``, or the home's ``<file>.previous`` (key line, window-end line)
    that :func:`rotate_secret` writes."""
    env = os.environ if environ is None else environ
    current = resolve_secret(name, home_file, environ=env, nbytes=nbytes).encode("utf-8")
    previous = configured_secret(f"{name}_PREVIOUS", env)
    until_variable = f"STRANGLER_{name}_PREVIOUS_UNTIL"
    if previous is not None:
        until_text = env.get(until_variable, "")
        if not until_text.strip():
            raise SecretError(
                f"STRANGLER_{name}_PREVIOUS is set without {until_variable}: say when the overlap window ends"
            )
        return KeyRing(current, previous.encode("utf-8"), _window_end(until_text, until_variable))
    kept = _previous_file(home_file)
    if configured_secret(name, env) is None and kept.is_file():
        lines = kept.read_text(encoding="utf-8").split()
        if len(lines) != 2:
            raise SecretError(f"{kept}: expected the previous key and its window end on two lines")
        return KeyRing(current, lines[0].encode("utf-8"), _window_end(lines[1], str(kept)))
    return KeyRing(current)


def rotate_secret(home_file: Path, *, overlap_s: float, now: float | None = None, nbytes: int = 32) -> str:
    """Replace the key kept in ``home_file`` by a new one; the old one keeps verifying for
    ``overlap_s`` seconds (kept beside it in ``<file>.previous``). Returns the new key."""
    if overlap_s <= 0:
        raise ValueError("the overlap window must be longer than 0 s")
    old = load_or_create_secret(home_file, nbytes=nbytes)
    until = (time.time() if now is None else now) + overlap_s
    _write_private(_previous_file(home_file), f"{old}\n{until:.0f}\n")
    new = secrets.token_urlsafe(nbytes)
    _write_private(home_file, new + "\n")
    return new


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) through a temporary file renamed into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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
