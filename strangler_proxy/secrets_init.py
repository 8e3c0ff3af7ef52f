"""``python -m strangler_proxy.secrets_init FOLDER NAME... [--pgpass FILE:USER:NAME]``: generate each
secret file FOLDER/NAME that does not exist yet (random URL-safe text, mode 0600), keeping the ones that
do; with ``--pgpass``, write FOLDER/FILE, a libpq password file (``PGPASSFILE``) giving USER the
password in FOLDER/NAME on every server and database.

The compose stack's one-shot ``secrets`` service runs it on a volume the other containers mount
read-only, where every secret is read through its ``*_FILE`` variable: a first start generates the
secrets once, later starts find them, and nothing ever falls back to a default.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from strangler_proxy.secrets import load_or_create_secret

__all__ = ["generate_secret_files", "main", "write_pgpass"]


def generate_secret_files(folder: Path, names: list[str]) -> list[str]:
    """Create each missing ``folder/name``; the names that were created."""
    created = []
    for name in names:
        if "/" in name or name.startswith("."):
            raise ValueError(f"{name!r} is not a plain file name")
        path = folder / name
        if not path.exists():
            created.append(name)
        load_or_create_secret(path)
    return created


def write_pgpass(folder: Path, file_name: str, user: str, secret_name: str) -> Path:
    """``folder/file_name``: ``*:*:*:user:password`` (mode 0600) with the password in ``secret_name``."""
    for name in (file_name, secret_name):
        if "/" in name or name.startswith("."):
            raise ValueError(f"{name!r} is not a plain file name")
    password = load_or_create_secret(folder / secret_name)
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    path = folder / file_name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"*:*:*:{user}:{escaped}\n")
    return path


def main(argv: list[str]) -> int:
    arguments = list(argv)
    pgpass: list[str] = []
    while "--pgpass" in arguments:
        at = arguments.index("--pgpass")
        pgpass.append(arguments[at + 1] if at + 1 < len(arguments) else "")
        del arguments[at : at + 2]
    if len(arguments) < 2 or any(spec.count(":") != 2 for spec in pgpass):
        print(
            "usage: python -m strangler_proxy.secrets_init FOLDER NAME... [--pgpass FILE:USER:NAME]",
            file=sys.stderr,
        )
        return 2
    folder = Path(arguments[0])
    names = arguments[1:]
    created = generate_secret_files(folder, names)
    kept = [name for name in names if name not in created]
    for spec in pgpass:
        file_name, user, secret_name = spec.split(":")
        write_pgpass(folder, file_name, user, secret_name)
    print(f"secrets in {folder}: generated {', '.join(created) or 'none'}; kept {', '.join(kept) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
