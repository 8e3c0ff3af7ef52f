"""The project file the commands work with, and what they take from it (the plan, the home)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from migration_plan.project.loader import PROJECT_FILE, ProjectFileError, find_project_file, load_project
from migration_plan.project.schema import ProjectFile

__all__ = ["current_project", "current_project_file", "plan_path"]


def current_project(
    config: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> tuple[ProjectFile, Path] | None:
    """``strangler.toml`` (``--config``, ``$STRANGLER_CONFIG``, ``./strangler.toml``) and its folder.

    Without one here, the toolkit's own checkout's (the demo's) when there is one, so that a command run
    from elsewhere in a checkout works on the demo as its file describes it; None when there is none.
    """
    path = current_project_file(config, environ=environ)
    if path is None:
        return None
    return load_project(path), path.resolve().parent


def current_project_file(
    config: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The file :func:`current_project` reads, None when there is none."""
    from migration_plan.toolbox.supervisor.stack import project_root

    path = find_project_file(config, environ=environ)
    if path is None:
        demo = project_root() / PROJECT_FILE
        return demo if demo.is_file() else None
    return path


def plan_path(explicit: Path | None, *, environ: Mapping[str, str] | None = None) -> Path:
    """``--plan``, else ``$STRANGLER_PLAN``, else strangler.toml's ``plan`` (relative to the file)."""
    environ = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if environ.get("STRANGLER_PLAN"):
        return Path(environ["STRANGLER_PLAN"])
    project = current_project(environ=environ)
    if project is None or not project[0].plan:
        raise ProjectFileError("no plan: pass --plan FILE, set STRANGLER_PLAN, or set plan in strangler.toml")
    path = Path(project[0].plan).expanduser()
    return path if path.is_absolute() else project[1] / path
