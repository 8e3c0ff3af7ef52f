"""``python -m strangler_proxy.secrets_init FOLDER NAME...``: generate each secret file FOLDER/NAME
that does not exist yet (random URL-safe text, mode 0600), keeping the ones that do.

The compose stack's one-shot ``secrets`` service runs it on a volume the other containers mount
read-only, where every secret is read through its ``*_FILE`` variable: a first start generates the
secrets once, later starts find them, and nothing ever falls back to a default.
"""

from __future__ import annotations

import sys
from pathlib import Path

from strangler_proxy.secrets import load_or_create_secret

__all__ = ["generate_secret_files", "main"]


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


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m strangler_proxy.secrets_init FOLDER NAME...", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    created = generate_secret_files(folder, argv[1:])
    kept = [name for name in argv[1:] if name not in created]
    print(f"secrets in {folder}: generated {', '.join(created) or 'none'}; kept {', '.join(kept) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
