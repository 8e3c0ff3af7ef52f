"""Which locustfile a project's load runs: ``--locustfile``, else ``[load] locustfile`` of
``strangler.toml`` (relative to the file), else the demo's ``loadtests/shop.py`` when this is a checkout.

An installed toolkit carries no demo traffic: without the option or the key, the error says what to set.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from migration_plan.project.context import current_project
from migration_plan.project.loader import PROJECT_FILE
from migration_plan.project.schema import ProjectFile
from migration_plan.toolbox.load.runner import PROJECT_ROOT, LoadError, resolve_locustfile

__all__ = ["DEMO_LOCUSTFILE", "LocustfileError", "current_locustfile", "project_locustfile"]

DEMO_LOCUSTFILE = Path("loadtests/shop.py")


class LocustfileError(LoadError):
    """No locustfile to run, or the one named is missing; the message says what to set."""


def project_locustfile(
    explicit: Path | None,
    project: ProjectFile | None,
    root: Path | None,
    *,
    option: str = "--locustfile",
    demo_root: Path | None = None,
) -> Path:
    """The locustfile to run, as an absolute path.

    ``explicit`` (the command's option) as ``strangler load`` always took it (the working directory, then
    the checkout); else ``project``'s ``[load] locustfile`` relative to ``root`` (the folder of its
    ``strangler.toml``); else ``loadtests/shop.py`` under ``demo_root`` (default: this checkout) when
    it is there.
    """
    if explicit is not None:
        return resolve_locustfile(explicit)
    named = project.load.locustfile if project is not None else None
    if named is not None:
        path = Path(named).expanduser()
        if not path.is_absolute():
            path = (root or Path.cwd()) / path
        if not path.is_file():
            raise LocustfileError(
                f"[load] locustfile = {named!r} in {PROJECT_FILE}: {path} does not exist "
                "(the path is relative to the project file)"
            )
        return path.resolve()
    demo = (demo_root or PROJECT_ROOT) / DEMO_LOCUSTFILE
    if demo.is_file():
        return demo.resolve()
    raise LocustfileError(
        "no locustfile for this project's load: write one (your routes' reads and writes, with the auth "
        f'they need) and name it in {PROJECT_FILE}: [load] locustfile = "loadtests/mysite.py" (relative '
        f"to the file), or pass {option} FILE"
    )


def current_locustfile(
    explicit: Path | None,
    config: Path | None = None,
    *,
    option: str = "--locustfile",
    environ: Mapping[str, str] | None = None,
) -> Path:
    """:func:`project_locustfile` for the current project (``--config``, ``$STRANGLER_CONFIG``,
    ``./strangler.toml``); a ``strangler.toml`` that does not validate raises ProjectFileError."""
    if explicit is not None:
        return project_locustfile(explicit, None, None, option=option)
    found = current_project(config, environ=environ)
    project, root = found if found is not None else (None, None)
    return project_locustfile(None, project, root, option=option)
