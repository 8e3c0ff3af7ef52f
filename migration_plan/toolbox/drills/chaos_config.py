"""The chaos drill's options from ``strangler.toml``: ``[drills.write]`` (what is written, read and undone,
by whom) and ``[drills.chaos]`` (the route, its match, the login form, the counters moved up and down)."""

from __future__ import annotations

import re
from typing import Any

from migration_plan.project.drills_section import DrillChaosFieldsSection
from migration_plan.project.schema import ProjectFile
from migration_plan.toolbox.drills.chaos import ChaosOptions
from migration_plan.toolbox.drills.chaos_fields import FieldWrites
from migration_plan.toolbox.drills.profile import DrillProfile, DrillProfileError, match_json

__all__ = ["chaos_options", "write_rule_match"]


def write_rule_match(path: str, fields: DrillChaosFieldsSection | None = None) -> dict[str, Any]:
    """The POST route of a write path: a pattern, ``{id}`` as ``[0-9]+``; with ``fields``, their path
    and method too (one route: every flip and rollback hands both kinds of writes over at once)."""
    pattern = _pattern(path)
    if fields is None:
        return {"kind": "pattern", "path": pattern, "methods": ["POST"]}
    both = f"(?:{pattern})|(?:{_pattern(fields.path)})"
    return {"kind": "pattern", "path": both, "methods": sorted({"POST", fields.method})}


def _pattern(path: str) -> str:
    return "[0-9]+".join(re.escape(part) for part in path.split("{id}"))


def chaos_options(
    project: ProjectFile,
    profile: DrillProfile,
    *,
    seed: int,
    duration_s: float,
    rate: float | None = None,
    capacity_fraction: float = 0.5,
) -> ChaosOptions:
    """The options of `strangler drill chaos`; ``DrillProfileError`` names what the file lacks."""
    section = project.drills.chaos if project.drills is not None else None
    if section is None:
        raise DrillProfileError(
            "strangler drill chaos needs [drills.chaos] in strangler.toml (up and down: the counters it"
            " moves; route, match and login optional) and [drills.write] (docs/project-file.md)"
        )
    probe = profile.write
    if probe is None or probe.undo is None or probe.auth is None:
        raise DrillProfileError(
            "strangler drill chaos writes with [drills.write]: give it undo (the body key of a move) and"
            " user (with password or password_env), who logs in at [drills.chaos] login"
        )
    fields = section.fields
    match = match_json(section.match) if section.match else write_rule_match(probe.path, fields)
    return ChaosOptions(
        probe=probe,
        rule_match=match,
        login=section.login,
        route=section.route,
        up_products=tuple(section.up),
        down_products=tuple(section.down),
        seed=seed,
        duration_s=duration_s,
        rate=rate,
        capacity_fraction=capacity_fraction,
        fields=_field_writes(fields),
    )


def _field_writes(section: DrillChaosFieldsSection | None) -> FieldWrites | None:
    if section is None:
        return None
    return FieldWrites(
        path=section.path,
        key=section.key,
        read=section.read,
        ids=tuple(section.ids),
        method=section.method,
        share=section.share,
    )
