"""What the soak sends, from ``strangler.toml``'s ``[drills]`` (the drills' own profile): the drilled
route's reads and the monolith's own reads, in one cycle of paths repeated for the whole soak.

The write probe of ``[drills.write]`` is not sent: a worker that restarts resets a connection it accepted
but had not read yet, and a write sent on it cannot be retried safely (its outcome is unknown), so the
soak's writes failed now and then where its reads, retried once by the client as any idempotent
request, never do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from migration_plan.project.loader import find_project_file, load_project
from migration_plan.toolbox.drills.profile import DrillProfile, Read, drill_profile

__all__ = ["SoakTrafficError", "soak_paths", "soak_profile"]


class SoakTrafficError(ValueError):
    """The project file does not say what to soak; the message names the key to set."""


def soak_profile(config: Path | None, environ: Mapping[str, str]) -> DrillProfile:
    """The drills' profile of ``config`` (else the nearest ``strangler.toml``), with the match of the
    route the soak creates and flips."""
    path = find_project_file(config, environ=environ)
    if path is None:
        raise SoakTrafficError("no strangler.toml here: the soak takes its route and traffic from [drills]")
    try:
        profile = drill_profile(load_project(path), environ=environ)
    except ValueError as exc:
        raise SoakTrafficError(f"{path}: {exc}") from exc
    if profile.match is None:
        raise SoakTrafficError(f"{path}: [drills] match: the soak creates its route and needs its match")
    return profile


def _weighted(reads: Sequence[Read]) -> list[Read]:
    return [read for read in reads for _ in range(read.weight)]


def soak_paths(profile: DrillProfile) -> tuple[str, ...]:
    """One cycle of GETs: the route's reads (by weight) alternate with the monolith's own reads
    (``legacy_reads``, else ``/``), so half the requests follow the flips and half stay on the legacy;
    ``{id}`` runs through the profile's ids."""
    route = _weighted(profile.reads)
    legacy = _weighted(profile.legacy_reads) or [Read("/")]
    ids = profile.ids or (1,)
    paths: list[str] = []
    for index in range(max(len(route), len(legacy), len(ids))):
        key = ids[index % len(ids)]
        paths.append(profile.path(route[index % len(route)], key))
        paths.append(profile.path(legacy[index % len(legacy)], key))
    return tuple(paths)
