"""What ``strangler.toml`` sets of the stack's settings; a variable set in the environment wins."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migration_plan.project.schema import ProjectFile

__all__ = ["settings_values"]


def settings_values(project: ProjectFile, project_dir: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """``StackSettings`` keyword values (by their environment names) that the file gives and the
    environment does not; pass them to ``StackSettings(**values)``. The monolith's port is
    ``STRANGLER_LEGACY_PORT``, else the first of ``[legacy] port_variables`` set, else ``[legacy] port``."""
    values: dict[str, Any] = {
        "STRANGLER_DATAPLANE_PORT": project.ports.dataplane,
        "STRANGLER_ADMIN_PORT": project.ports.admin,
        "STRANGLER_DATAPLANE_INTERNAL_PORT": project.ports.dataplane_internal,
    }
    if project.home:
        home = Path(project.home).expanduser()
        values["STRANGLER_HOME"] = home if home.is_absolute() else project_dir / home
    if project.store.url:
        values["STRANGLER_STORE_URL"] = project.store.url
    if project.legacy.url:
        values["STRANGLER_LEGACY_URL"] = project.legacy.url
    else:
        named = [environ[name] for name in project.legacy.port_variables if name in environ]
        values["STRANGLER_LEGACY_PORT"] = named[0] if named else project.legacy.port
    if project.engine:
        values["STRANGLER_ENGINE"] = project.engine
    return {name: value for name, value in values.items() if name not in environ}
