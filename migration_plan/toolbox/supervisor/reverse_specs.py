"""The reverse relays of a project's own services, from ``strangler.toml``'s ``[sync] reverse``.

Each ``upstream = "reverse:<origin>"`` of a ``[[services]]`` upstream that no demo worker of
``[sync] workers`` already carries gets ``sync-reverse-<service>``: ``python -m acl.sync reverse`` with
``STRANGLER_SYNC_ORIGIN=<origin>`` and the service's database (its ``service_outbox``), posting to the
monolith's ``/internal/sync/apply`` with the shared internal token. Its health port follows the demo
workers' range (``HEALTH_PORTS`` ports from the sync health base), one per relay, in the file's order.
The same services, with the monolith's ``database``, are the sides a handover measures
(``STRANGLER_SYNC_OUTBOXES``).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from pathlib import Path

from migration_plan.project.schema import ProjectFile, ServiceSection
from migration_plan.toolbox.supervisor.forward_specs import forward_port_count
from migration_plan.toolbox.supervisor.project_specs import fill_text
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec
from migration_plan.toolbox.supervisor.sync_specs import HEALTH_PORTS, health_base, sync_spec

__all__ = [
    "ReverseRelay",
    "project_reverse_relays",
    "reverse_relay_specs",
    "service_database_url",
    "sync_health_port_count",
    "sync_outboxes",
]


@dataclass(frozen=True)
class ReverseRelay:
    """One service's reverse direction: its outbox's ``origin`` and the direction a rollback drains."""

    service: ServiceSection
    origin: str
    direction: str


def project_reverse_relays(
    project: ProjectFile, carried: Set[str] = frozenset()
) -> tuple[list[ReverseRelay], list[str]]:
    """The relays ``project`` asks for (directions in ``carried`` have a worker already) and warnings
    about the directions no relay can be started for."""
    by_upstream = {service.upstream_name: service for service in project.services}
    relays: list[ReverseRelay] = []
    warnings: list[str] = []
    for upstream, direction in project.sync.reverse.items():
        if direction in carried:
            continue
        service = by_upstream.get(upstream)
        if service is None:
            warnings.append(
                f"sync.reverse.{upstream}: no [[services]] has the upstream {upstream!r}: no reverse relay"
                " is started for it"
            )
            continue
        origin = direction.partition(":")[2]
        if not origin:
            warnings.append(
                f"sync.reverse.{upstream} = {direction!r}: no worker of [sync] workers carries it; name the"
                f" direction 'reverse:{service.name}' (the origin of the service's outbox events) to have"
                " `strangler up` run its reverse relay"
            )
            continue
        relays.append(ReverseRelay(service=service, origin=origin, direction=direction))
    return relays, warnings


def sync_health_port_count(project: ProjectFile | None, carried: Set[str] = frozenset()) -> int:
    """How many consecutive health ports the stack's sync workers take from the sync health base."""
    relays = project_reverse_relays(project, carried)[0] if project is not None else []
    return HEALTH_PORTS + len(relays) + forward_port_count(project)


def service_database_url(
    service: ServiceSection, settings: StackSettings, project_dir: Path, environ: Mapping[str, str]
) -> str:
    """``<NAME>_DATABASE_URL``, else the service's ``database`` (placeholders filled), else the service
    kit's SQLite file, ``$STRANGLER_HOME/services/<name>/<name>.sqlite3``."""
    variable = f"{service.name.upper()}_DATABASE_URL"
    if environ.get(variable):
        return environ[variable]
    if service.database:
        return fill_text(service.database, settings, project_dir, f"services.{service.name}.database")
    home = settings.home.resolve()
    return f"sqlite:///{home / 'services' / service.name / f'{service.name}.sqlite3'}"


def reverse_relay_specs(
    relays: list[ReverseRelay],
    settings: StackSettings,
    root: Path,
    project_dir: Path,
    environ: Mapping[str, str],
    token_env: Mapping[str, str],
) -> list[ProcessSpec]:
    """``sync-reverse-<service>`` for each relay, on the health ports after the demo workers' range."""
    base = health_base(settings, environ) + HEALTH_PORTS
    specs = []
    for index, relay in enumerate(relays):
        port = base + index
        env = {
            "STRANGLER_HOME": str(settings.home),
            "STRANGLER_LEGACY_URL": settings.resolved_legacy_url,
            "STRANGLER_SYNC_ORIGIN": relay.origin,
            "STRANGLER_SYNC_SERVICE_DATABASE_URL": service_database_url(
                relay.service, settings, project_dir, environ
            ),
            **token_env,
        }
        label = f"sync reverse {relay.service.name} (health)"
        name = f"sync-reverse-{relay.service.name}"
        specs.append(sync_spec(name, "reverse", port, env, settings, root, label=label))
    return specs


def sync_outboxes(
    project: ProjectFile | None, settings: StackSettings, project_dir: Path, environ: Mapping[str, str]
) -> str:
    """``STRANGLER_SYNC_OUTBOXES`` for the control plane: ``legacy`` (``STRANGLER_SYNC_LEGACY_DATABASE_URL``,
    else ``[legacy] database``; left out when neither names it) and each service that has a reverse
    direction in ``[sync] reverse``, by name."""
    if project is None:
        return ""
    sides: list[tuple[str, str]] = []
    legacy = environ.get("STRANGLER_SYNC_LEGACY_DATABASE_URL") or (
        fill_text(project.legacy.database, settings, project_dir, "legacy.database")
        if project.legacy.database
        else ""
    )
    if legacy:
        sides.append(("legacy", legacy))
    synced = set(project.sync.reverse)
    for service in project.services:
        if service.upstream_name in synced:
            sides.append((service.name, service_database_url(service, settings, project_dir, environ)))
    return ",".join(f"{side}={url}" for side, url in sides)
