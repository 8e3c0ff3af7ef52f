"""What a drill drills, resolved from ``strangler.toml`` (``[drills]``, its services) and ``--route``:
the route (its name, and the match of the rule the drill creates when the table lacks it), the service it
is flipped to, the load's requests and the write probe whose every acknowledged write is reconciled."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migration_plan.plan.model import Plan
from migration_plan.project.drills_section import DrillReadSection, DrillsSection
from migration_plan.project.schema import ProjectFile, ServiceSection
from strangler_proxy.routes import RuleMatch

__all__ = ["DrillProfile", "DrillProfileError", "Read", "WriteProbe", "drill_profile", "match_json"]


class DrillProfileError(ValueError):
    """The project file does not say enough to drill; the message names the key to set."""


@dataclass(frozen=True)
class Read:
    path: str
    """A path on the front door; ``{id}`` is replaced by one of the profile's ids."""
    weight: int = 1


@dataclass(frozen=True)
class WriteProbe:
    """A POST through the front door that moves an integer counter of the monolith by exactly one."""

    path: str
    read: str
    body: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    field: str | None = None
    """The counter's key in ``read``'s JSON object; None: the answer is a list, the counter its length."""
    ids: tuple[int, ...] = (1,)
    auth: tuple[str, str] | None = dataclasses.field(default=None, repr=False)
    """HTTP basic auth of the writes (never shown: the password)."""
    undo: str | None = None
    """The body key whose negated value undoes writes (None: the drill's writes stay)."""
    check_service: bool = False

    def write_path(self, key: int) -> str:
        return self.path.replace("{id}", str(key))

    def read_path(self, key: int) -> str:
        return self.read.replace("{id}", str(key))

    def count(self, payload: Any, key: int) -> int:
        """The counter in a side's answer to ``read_path(key)``."""
        if self.field is None:
            if not isinstance(payload, list):
                raise ValueError(f"{self.read_path(key)} answered no JSON list (set [drills.write] field)")
            return len(payload)
        if not isinstance(payload, dict) or self.field not in payload:
            raise ValueError(f"{self.read_path(key)} answered no {self.field!r} ([drills.write] field)")
        return int(payload[self.field])

    def undo_body(self, delta: int) -> dict[str, Any]:
        """The body that moves the counter by ``delta`` (only with ``undo``)."""
        if self.undo is None:
            raise ValueError("this write probe cannot be undone ([drills.write] undo)")
        return {**self.body, self.undo: delta}


@dataclass(frozen=True)
class DrillProfile:
    route: str
    """The drilled route's name in the route table."""
    upstream: str
    service: str
    """The supervised process (a [[services]] entry) behind ``upstream``."""
    reads: tuple[Read, ...]
    service_health: str = "/readyz"
    match: Mapping[str, Any] | None = None
    """The rule match of the route when the drill has to create it; None: it must exist."""
    legacy_reads: tuple[Read, ...] = ()
    ids: tuple[int, ...] = (1,)
    write: WriteProbe | None = None

    def path(self, read: Read, key: int) -> str:
        return read.path.replace("{id}", str(key))


def _reads(section: list[DrillReadSection]) -> tuple[Read, ...]:
    return tuple(Read(read.path, read.weight) for read in section)


def _service(project: ProjectFile, upstream: str | None, key: str = "[drills] upstream") -> ServiceSection:
    services = project.services
    if upstream is None:
        if len(services) != 1:
            names = ", ".join(s.upstream_name for s in services) or "none"
            raise DrillProfileError(
                f"which service does the drill flip the route to? set [drills] upstream (services: {names})"
            )
        return services[0]
    for service in services:
        if service.upstream_name == upstream:
            return service
    names = ", ".join(s.upstream_name for s in services) or "none"
    raise DrillProfileError(f"{key} = {upstream!r} is no service's upstream (services: {names})")


def _write(section: DrillsSection, environ: Mapping[str, str]) -> WriteProbe | None:
    write = section.write
    if write is None:
        return None
    auth = None
    if write.user:
        password = write.password
        if write.password_env:
            password = environ.get(write.password_env)
            if password is None:
                raise DrillProfileError(
                    f"[drills.write] password_env = {write.password_env!r}: that variable is not set"
                )
        auth = (write.user, password or "")
    return WriteProbe(
        path=write.path,
        read=write.read,
        body=dict(write.body),
        field=write.field,
        ids=tuple(write.ids),
        auth=auth,
        undo=write.undo,
        check_service=write.check_service,
    )


def _route_name(path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return f"drill-{slug}"[:63].rstrip("-") or "drill"


def match_json(match: RuleMatch) -> dict[str, Any]:
    """A rule match as the admin API takes it (its kind always named, its methods sorted)."""
    data = match.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("kind", "prefix")
    if data.get("methods") is not None:
        data["methods"] = sorted(data["methods"])
    return data


def _from_plan(plan: Plan | None, route: str | None) -> tuple[dict[str, Any], str | None] | None:
    """The match of the plan's route named ``route`` and its stage's upstream, None when it has none."""
    if plan is None or route is None:
        return None
    for stage in plan.stages:
        for spec in stage.routes:
            if spec.name == route:
                return match_json(spec.match), stage.upstream
    return None


def _reads_of(match: Mapping[str, Any]) -> tuple[Read, ...]:
    """A plain read of a prefix or exact match's path (a pattern gives none)."""
    if match.get("kind", "prefix") in ("prefix", "exact"):
        return (Read(str(match["path"])),)
    return ()


def drill_profile(
    project: ProjectFile,
    *,
    route: str | None = None,
    plan: Plan | None = None,
    environ: Mapping[str, str] | None = None,
) -> DrillProfile:
    """The profile of ``project``'s ``[drills]``, with ``route`` (``--route``) instead of its route:
    a path (``/api/things``: a route ``drill-api-things`` matching that prefix for GET and HEAD, read
    there), or the name of a route: one of ``plan`` (its match, its stage's upstream), else one the drill
    finds in the table (or creates with ``[drills] match``)."""
    section = project.drills
    environ = environ or {}
    planned = _from_plan(plan, route)
    if section is None and planned is None and (route is None or not route.startswith("/")):
        raise DrillProfileError(
            "strangler.toml has no [drills] section: add one (route, upstream, reads; "
            "docs/project-file.md), or pass --route /a/path of the service's routes or a route of the plan"
        )
    if planned is not None and planned[1]:
        service = _service(project, planned[1], f"the plan's stage of {route} has upstream")
    else:
        service = _service(project, section.upstream if section else None)
    reads = _reads(section.reads) if section else ()
    legacy_reads = _reads(section.legacy_reads) if section else ()
    ids = tuple(range(section.first_id, section.last_id + 1)) if section else (1,)
    write = _write(section, environ) if section else None
    if route is not None and route.startswith("/"):
        under = tuple(read for read in reads if read.path.split("?")[0].startswith(route))
        return DrillProfile(
            route=_route_name(route),
            upstream=service.upstream_name,
            service=service.name,
            service_health=service.health,
            reads=under or (Read(route),),
            match={"kind": "prefix", "path": route, "methods": ["GET", "HEAD"]},
            legacy_reads=legacy_reads,
            ids=ids,
            write=write,
        )
    if planned is not None:
        assert route is not None
        return DrillProfile(
            route=route,
            upstream=service.upstream_name,
            service=service.name,
            service_health=service.health,
            reads=reads or _reads_of(planned[0]) or _no_reads(route),
            match=planned[0],
            legacy_reads=legacy_reads,
            ids=ids,
            write=write,
        )
    assert section is not None
    match = None
    if section.match is not None:
        match = match_json(section.match)
    elif route is None:
        first = section.reads[0].path.split("?")[0].split("{")[0]
        match = {"kind": "prefix", "path": first, "methods": ["GET", "HEAD"]}
    return DrillProfile(
        route=route or section.route,
        upstream=service.upstream_name,
        service=service.name,
        service_health=service.health,
        reads=reads,
        match=match,
        legacy_reads=legacy_reads,
        ids=ids,
        write=write,
    )


def _no_reads(route: str) -> tuple[Read, ...]:
    raise DrillProfileError(
        f"the plan's route {route!r} matches a pattern: say what to read in [drills] reads"
    )
