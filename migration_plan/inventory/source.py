"""The monolith's URLconf, as JSON: from its management command (run as a subprocess) or a file.

The toolkit never imports the monolith: its ``manage.py urls_json`` (the command of strangler_django, the
toolkit's Django app) prints the list, run as strangler.toml's ``legacy.manage`` says.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["InventoryError", "UrlPattern", "parse_urlconf", "read_urlconf_file", "run_urls_json"]


class InventoryError(Exception):
    """The URLconf could not be read."""


@dataclass(frozen=True)
class UrlPattern:
    pattern: str
    name: str | None
    methods: tuple[str, ...] | None
    view: str


def parse_urlconf(document: str, *, source: str) -> list[UrlPattern]:
    try:
        data: Any = json.loads(document)
    except json.JSONDecodeError as exc:
        raise InventoryError(f"{source}: not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise InventoryError(f"{source}: expected a JSON list of URL patterns")
    patterns = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("pattern"), str):
            raise InventoryError(f"{source}: entry {index} has no 'pattern'")
        methods = item.get("methods")
        patterns.append(
            UrlPattern(
                pattern=item["pattern"],
                name=item.get("name"),
                methods=tuple(m.upper() for m in methods) if methods else None,
                view=str(item.get("view") or ""),
            )
        )
    return patterns


def read_urlconf_file(path: Path) -> list[UrlPattern]:
    try:
        return parse_urlconf(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise InventoryError(f"cannot read {path}: {exc.strerror or exc}") from exc


def run_urls_json(
    *,
    manage: Sequence[str],
    cwd: Path | None = None,
    extra_args: Sequence[str] = ("--exclude-admin",),
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> list[UrlPattern]:
    """Run the monolith's ``urls_json`` command: ``manage`` is its management command prefix (e.g.
    ``python manage.py``), ``env`` what it needs besides the current environment."""
    command = [*manage, "urls_json", *extra_args]
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InventoryError(f"{' '.join(command)}: {exc}") from exc
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:]) or "no output"
        raise InventoryError(f"{' '.join(command)} exited {done.returncode}: {tail}")
    return parse_urlconf(done.stdout, source="urls_json")
