"""Where the project and its state directory are, from any working directory (like git, kubectl, gh).

The state directory ("home": the store, the secrets, the logs, the supervisor's socket) is, in order:

1. the explicit ``--home`` of a command;
2. ``$STRANGLER_HOME``;
3. the project's: the ``home`` that the project file sets (default ``.strangler``), relative to the
   file's folder; the project file is ``$STRANGLER_CONFIG``, else the nearest ``strangler.toml``
   found from the working directory upwards;
4. the default: the same for the source checkout this toolkit runs from (an editable install, as
   ``make run`` makes), else ``./.strangler``.

The project root (for relative files such as the plan) follows the same search: the folder of the
nearest ``strangler.toml``, else the source checkout, else the working directory.

    find_home(explicit) -> Path          absolute
    find_project_root() -> Path          absolute
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "PROJECT_FILE",
    "STATE_DIR",
    "find_home",
    "find_project_root",
    "project_file",
]

PROJECT_FILE = "strangler.toml"
STATE_DIR = ".strangler"


def project_file(start: Path) -> Path | None:
    """The nearest ``strangler.toml`` in ``start`` or one of its parents."""
    start = start.absolute()
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def _source_checkout() -> Path | None:
    """The repository this package is imported from, when it is a source checkout (editable install)."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "strangler-fig"' in text else None


def find_project_root(*, cwd: Path | None = None) -> Path:
    """The folder of the nearest strangler.toml, else the source checkout, else the working directory."""
    here = (cwd or Path.cwd()).absolute()
    marker = project_file(here)
    if marker is not None:
        return marker.parent
    return _source_checkout() or here


def find_home(
    explicit: Path | None = None, *, cwd: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The state directory, absolute: ``explicit``, ``$STRANGLER_HOME``, the project's, the default."""
    env = os.environ if environ is None else environ
    here = (cwd or Path.cwd()).absolute()
    if explicit is not None:
        return _absolute(explicit, here)
    if env.get("STRANGLER_HOME"):
        return _absolute(Path(env["STRANGLER_HOME"]), here)
    marker = _absolute(Path(env["STRANGLER_CONFIG"]), here) if env.get("STRANGLER_CONFIG") else None
    marker = marker or project_file(here)
    if marker is None:
        checkout = _source_checkout()
        marker = checkout / PROJECT_FILE if checkout and (checkout / PROJECT_FILE).is_file() else None
    if marker is not None:
        return _home_of(marker)
    return here / STATE_DIR


def _home_of(marker: Path) -> Path:
    """The ``home`` the project file sets (relative to its folder), else ``.strangler`` beside it; an
    unreadable file says nothing here (the commands that read it report what is wrong)."""
    try:
        with marker.open("rb") as handle:
            configured = tomllib.load(handle).get("home")
    except (OSError, tomllib.TOMLDecodeError):
        configured = None
    home = Path(configured).expanduser() if isinstance(configured, str) and configured else Path(STATE_DIR)
    return home if home.is_absolute() else marker.parent.absolute() / home


def _absolute(path: Path, here: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else here / path
