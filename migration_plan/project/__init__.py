"""The project file, ``strangler.toml``: what `strangler up` runs for a monolith and its services."""

from migration_plan.project.loader import ProjectFileError, find_project_file, load_project, parse_project
from migration_plan.project.schema import LegacySection, ProjectFile, ServiceSection

__all__ = [
    "LegacySection",
    "ProjectFile",
    "ProjectFileError",
    "ServiceSection",
    "find_project_file",
    "load_project",
    "parse_project",
]
