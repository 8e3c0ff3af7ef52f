"""What the soak sends, from ``strangler.toml``'s ``[drills]`` (the drills' own profile): the drilled
route's reads and the monolith's own reads, in one cycle of paths repeated for the whole soak, and the
write probe of ``[drills.write]`` (a POST with its JSON body, ``{id}`` through the probe's ids), sent
in place of a stated share of the reads.

A write is never retried: its outcome is unknown once a connection fails under it, so a write must
never meet a closing connection. None may fail, also while a worker restarts: a stopping worker drains
its idle kept-alive connections (a request that arrives on one is served, with ``Connection: close``)
instead of closing them under a request already on its way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_plan.project.loader import find_project_file, load_project
from migration_plan.toolbox.drills.profile import DrillProfile, Read, drill_profile

__all__ = ["SoakTrafficError", "SoakWrite", "soak_paths", "soak_profile", "soak_request", "soak_writes"]


class SoakTrafficError(ValueError):
    """The project file does not say what to soak; the message names the key to set."""


@dataclass(frozen=True)
class SoakWrite:
    """One write of the probe: ``POST path`` with ``body`` as JSON, in basic auth ``auth`` if set."""

    path: str
    body: Mapping[str, Any] = field(default_factory=dict)
    auth: tuple[str, str] | None = field(default=None, repr=False)


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


def soak_writes(profile: DrillProfile) -> tuple[SoakWrite, ...]:
    """One cycle of the write probe's writes, one per id of ``[drills.write] ids``; none without
    ``[drills.write]``."""
    probe = profile.write
    if probe is None:
        return ()
    return tuple(SoakWrite(probe.write_path(key), dict(probe.body), probe.auth) for key in probe.ids)


def soak_request(
    slot: int, paths: Sequence[str], writes: Sequence[SoakWrite], write_every: int
) -> str | SoakWrite:
    """What the soak sends in its ``slot``-th request: every ``write_every``-th is the next write
    (none when ``write_every`` is 0 or there are no writes), the others the next path of the cycle."""
    if write_every > 0 and writes:
        sent = slot // write_every
        if (slot + 1) % write_every == 0:
            return writes[sent % len(writes)]
        return paths[(slot - sent) % len(paths)]
    return paths[slot % len(paths)]
