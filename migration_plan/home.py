"""Where the project and its state directory are, from any working directory (like git, kubectl, gh).

The state directory ("home": the store, the secrets, the logs, the supervisor's socket) is, in order:

1. the explicit ``--home`` of a command;
2. ``$STRANGLER_HOME``;
3. ``.strangler`` next to the nearest ``strangler.toml`` found from the working directory upwards
   (the project marker);
4. the default: ``.strangler`` of the source checkout this toolkit runs from (an editable install,
   as ``make run`` makes), else ``./.strangler``.

The project root (for relative files such as the plan) follows the same search: the folder of the
nearest ``strangler.toml``, else the source checkout, else the working directory.

    find_home(explicit) -> Path          absolute
    find_project_root() -> Path          absolute
    default_plan_path() -> Path          $STRANGLER_PLAN, else plans/legacyshop.yaml here or in the project
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "DEFAULT_PLAN",
    "PROJECT_FILE",
    "STATE_DIR",
    "default_plan_path",
    "find_home",
    "find_project_root",
    "project_file",
]

PROJECT_FILE = "strangler.toml"
STATE_DIR = ".strangler"
DEFAULT_PLAN = Path("plans/legacyshop.yaml")


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
    marker = project_file(here)
    if marker is not None:
        return marker.parent / STATE_DIR
    checkout = _source_checkout()
    return (checkout or here) / STATE_DIR


def _absolute(path: Path, here: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else here / path


def default_plan_path(*, cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """``$STRANGLER_PLAN``; else plans/legacyshop.yaml of the working directory when it is there, else
    of the project root."""
    env = os.environ if environ is None else environ
    if env.get("STRANGLER_PLAN"):
        return Path(env["STRANGLER_PLAN"])
    here = (cwd or Path.cwd()).absolute()
    if (here / DEFAULT_PLAN).is_file():
        return DEFAULT_PLAN
    return find_project_root(cwd=here) / DEFAULT_PLAN
