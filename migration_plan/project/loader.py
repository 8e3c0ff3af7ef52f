"""Reading ``strangler.toml``: TOML, then the schema; every error names the file, the line and the key."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from migration_plan.project.schema import ProjectFile

__all__ = ["PROJECT_FILE", "ProjectFileError", "find_project_file", "load_project", "parse_project"]

PROJECT_FILE = "strangler.toml"
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")


class ProjectFileError(ValueError):
    """``strangler.toml`` cannot be used; the message says where and why."""


def find_project_file(
    explicit: Path | None = None, *, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path | None:
    """``--config``, else ``$STRANGLER_CONFIG``, else the nearest ``strangler.toml`` in the working
    directory or one of its parents (as git finds its repository); None otherwise."""
    from migration_plan.home import project_file

    environ = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if environ.get("STRANGLER_CONFIG"):
        return Path(environ["STRANGLER_CONFIG"])
    return project_file(cwd or Path.cwd())


def load_project(path: Path) -> ProjectFile:
    """Read and validate ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProjectFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_project(text, source=str(path))


def parse_project(text: str, *, source: str = PROJECT_FILE) -> ProjectFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectFileError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return ProjectFile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            where = ".".join(str(part) for part in loc) or "(top level)"
            line = locate(text, loc)
            at = f"{source}:{line}" if line else source
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key (a typo?)"
            lines.append(f"{at}: {where}: {message}")
        raise ProjectFileError("\n".join(lines)) from None


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """The line (1-based) of the key at ``loc`` (e.g. ("services", 1, "port")), or of the nearest table
    holding it; None when the file does not spell it out (a missing key is reported at its table)."""
    table: list[str | int] = []
    counts: dict[str, int] = {}
    best: int | None = None
    best_depth = -1
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            name = header.group(2).replace('"', "").replace("'", "")
            parts: list[str | int] = list(name.split("."))
            if header.group(1) == "[[":
                index = counts.get(name, 0)
                counts[name] = index + 1
                parts.append(index)
            table = parts
            depth = _prefix_depth(table, loc)
            if depth == len(table) and depth > best_depth:
                best, best_depth = number, depth
            continue
        key = _KEY.match(raw)
        if key:
            path = [*table, key.group(1).strip("\"'")]
            depth = _prefix_depth(path, loc)
            if depth == len(path) and depth > best_depth:
                best, best_depth = number, depth
    return best


def _prefix_depth(path: Sequence[str | int], loc: Sequence[str | int]) -> int:
    depth = 0
    for mine, wanted in zip(path, loc, strict=False):
        if mine != wanted:
            break
        depth += 1
    return depth
