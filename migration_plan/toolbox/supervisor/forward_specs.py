"""Forward sync for a project's own services, from ``strangler.toml``'s ``[sync] forward``.

For each listed upstream, `strangler up` runs ``sync-forward-<service>``: ``python -m acl.sync forward``,
which reads the monolith's outbox events from the sync stream and posts them to the service's
``/internal/sync/apply`` (``STRANGLER_SYNC_FORWARD_URL``) with the shared internal token; its origin
(the events it skips as its own, come back through the monolith) is the service's reverse origin
(``reverse:<origin>`` in ``[sync] reverse``), else the service's name. The stream is filled by the relay,
``sync-relay`` (the monolith's ``outbox_event`` table, read from ``[legacy] database`` or
``STRANGLER_SYNC_LEGACY_DATABASE_URL``), started here unless ``[sync] workers`` lists it. Their health
ports follow the reverse relays': the relay's first, then one per consumer, in the file's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from migration_plan.project.schema import ProjectFile, ServiceSection
from migration_plan.toolbox.supervisor.project_specs import fill_text
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec
from migration_plan.toolbox.supervisor.sync_specs import sync_spec

__all__ = [
    "ForwardConsumer",
    "forward_consumers_env",
    "forward_port_count",
    "forward_specs",
    "project_forward_consumers",
]


@dataclass(frozen=True)
class ForwardConsumer:
    service: ServiceSection
    origin: str

    @property
    def name(self) -> str:
        """Its inbox and offset in the sync database (``acl.sync``'s ``forward-<origin>``)."""
        return f"forward-{self.origin}"


def project_forward_consumers(project: ProjectFile) -> tuple[list[ForwardConsumer], list[str]]:
    """The consumers ``project`` asks for, and warnings about the upstreams no service has."""
    by_upstream = {service.upstream_name: service for service in project.services}
    consumers: list[ForwardConsumer] = []
    warnings: list[str] = []
    for upstream in project.sync.forward:
        service = by_upstream.get(upstream)
        if service is None:
            warnings.append(
                f"sync.forward: no [[services]] has the upstream {upstream!r}: no forward consumer is started"
                " for it"
            )
            continue
        origin = project.sync.reverse.get(upstream, "").partition(":")[2] or service.name
        consumers.append(ForwardConsumer(service=service, origin=origin))
    return consumers, warnings


def forward_consumers_env(project: ProjectFile | None) -> str:
    """``STRANGLER_SYNC_FORWARD_CONSUMERS`` for the control plane: ``upstream=consumer,...``, the inbox a
    handover of the upstream's writes from the monolith reads (its backlog: the events not taken yet)."""
    if project is None:
        return ""
    consumers = project_forward_consumers(project)[0]
    return ",".join(f"{consumer.service.upstream_name}={consumer.name}" for consumer in consumers)


def _runs_relay(project: ProjectFile) -> bool:
    """Whether forward sync needs a relay of its own (the demo's ``relay`` worker is not listed)."""
    return bool(project.sync.forward) and "relay" not in project.sync.workers


def forward_port_count(project: ProjectFile | None) -> int:
    """How many health ports the relay and the forward consumers take."""
    if project is None:
        return 0
    return int(_runs_relay(project)) + len(project_forward_consumers(project)[0])


def _legacy_database(
    project: ProjectFile, settings: StackSettings, project_dir: Path, environ: Mapping[str, str]
) -> str:
    if environ.get("STRANGLER_SYNC_LEGACY_DATABASE_URL"):
        return environ["STRANGLER_SYNC_LEGACY_DATABASE_URL"]
    if project.legacy.database:
        return fill_text(project.legacy.database, settings, project_dir, "legacy.database")
    return ""


def _spec(
    name: str, command: str, port: int, env: dict[str, str], settings: StackSettings, root: Path
) -> ProcessSpec:
    return sync_spec(name, command, port, env, settings, root, label=f"{name.replace('-', ' ', 1)} (health)")


def forward_specs(
    project: ProjectFile,
    settings: StackSettings,
    root: Path,
    project_dir: Path,
    environ: Mapping[str, str],
    token_env: Mapping[str, str],
    base: int,
    warnings: list[str],
) -> list[ProcessSpec]:
    """The relay (when needed) and ``sync-forward-<service>`` for each consumer, from health port ``base``."""
    consumers, found = project_forward_consumers(project)
    warnings.extend(found)
    if not consumers:
        return []
    common = {
        "STRANGLER_HOME": str(settings.home),
        "STRANGLER_LEGACY_URL": settings.resolved_legacy_url,
        **token_env,
    }
    specs: list[ProcessSpec] = []
    if _runs_relay(project):
        database = _legacy_database(project, settings, project_dir, environ)
        if not database:
            warnings.append(
                "sync.forward: the relay reads the monolith's outbox from its database: set [legacy] database"
                " (or STRANGLER_SYNC_LEGACY_DATABASE_URL); no forward sync is started"
            )
            return []
        env = {**common, "STRANGLER_SYNC_LEGACY_DATABASE_URL": database}
        specs.append(_spec("sync-relay", "relay", base, env, settings, root))
        base += 1
    for index, consumer in enumerate(consumers):
        service = consumer.service
        variable = f"{service.name.upper()}_PORT"
        port = int(environ[variable]) if environ.get(variable) else service.port
        env = {
            **common,
            "STRANGLER_SYNC_ORIGIN": consumer.origin,
            "STRANGLER_SYNC_FORWARD_URL": f"http://127.0.0.1:{port}",
        }
        specs.append(_spec(f"sync-forward-{service.name}", "forward", base + index, env, settings, root))
    return specs
