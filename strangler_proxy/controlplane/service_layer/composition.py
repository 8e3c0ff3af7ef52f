"""The composition root of the service layer: ``ControlPlaneServices`` holds one object per concern."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Engine

from strangler_proxy.controlplane.service_layer.audit import AuditService
from strangler_proxy.controlplane.service_layer.auth import AuthService
from strangler_proxy.controlplane.service_layer.backlog import BacklogProbe
from strangler_proxy.controlplane.service_layer.bootstrap import BootstrapReport, bootstrap_store
from strangler_proxy.controlplane.service_layer.denials import DenialService
from strangler_proxy.controlplane.service_layer.guards import GuardService
from strangler_proxy.controlplane.service_layer.handover import Handover, HandoverSettings
from strangler_proxy.controlplane.service_layer.observability import ObservabilityService
from strangler_proxy.controlplane.service_layer.overrides import OverrideService
from strangler_proxy.controlplane.service_layer.publishing import PublishingService
from strangler_proxy.controlplane.service_layer.sessions import SessionService
from strangler_proxy.controlplane.service_layer.sync_conflicts import SyncConflictService, load_writer
from strangler_proxy.controlplane.service_layer.sync_lag import SyncLagService
from strangler_proxy.controlplane.service_layer.table_queries import RouteTableQueries
from strangler_proxy.controlplane.service_layer.tokens import TokenService
from strangler_proxy.controlplane.service_layer.upstreams import UpstreamService
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.secrets import load_key_ring, resolve_secret

__all__ = ["ControlPlaneServices", "build_services"]


@dataclass(frozen=True)
class ControlPlaneServices:
    """Everything the API and the UI call; no HTTP between them."""

    settings: ControlPlaneSettings
    engine: Engine
    tables: RouteTableQueries
    """Reads of the route tables (pages, previews, the live feed)."""
    publishing: PublishingService
    """Changes of the route table: publish, flip, roll back, re-activate, panic."""
    auth: AuthService
    sessions: SessionService
    tokens: TokenService
    audit: AuditService
    denials: DenialService
    upstreams: UpstreamService
    observability: ObservabilityService
    guards: GuardService
    overrides: OverrideService
    sync_lag: SyncLagService
    sync_conflicts: SyncConflictService

    def bootstrap(self) -> BootstrapReport:
        """Migrate the store and create the first version and the admin user when missing."""
        return bootstrap_store(
            self.engine,
            legacy_url=self.settings.legacy_url,
            upstream_service=self.upstreams,
            auth=self.auth,
            admin_password_file=self.settings.admin_password_file,
            extra_upstreams=self.settings.upstreams,
            legacy_url_given="legacy_url" in self.settings.model_fields_set,
        )


def build_services(
    settings: ControlPlaneSettings, engine: Engine, *, password_hasher: PasswordHasher | None = None
) -> ControlPlaneServices:
    """Wire the services on ``engine``; reads (or creates) the session and override keys under ``home``.

    ``password_hasher`` defaults to argon2id with argon2-cffi's default cost.
    """
    secrets_dir = settings.secrets_dir
    publishing = PublishingService(engine, front_door=settings.engine)
    sync_lag = SyncLagService(
        settings.resolved_sync_database_url,
        reverse_directions=settings.sync_reverse_directions,
        stale_after_s=settings.handover_stale_after_s,
    )
    probe = BacklogProbe(
        sync_url=settings.resolved_sync_database_url,
        outboxes=settings.sync_outboxes,
        consumers=settings.sync_forward_consumers,
        lag=sync_lag,
        stale_after_s=settings.handover_stale_after_s,
    )
    publishing.use_handover(
        Handover(
            probe,
            HandoverSettings(
                fence_s=settings.handover_fence_s, retry_after_s=settings.handover_retry_after_s
            ),
        )
    )
    return ControlPlaneServices(
        settings=settings,
        engine=engine,
        tables=RouteTableQueries(engine, front_door=settings.engine),
        publishing=publishing,
        auth=AuthService(engine, hasher=password_hasher),
        sessions=SessionService(
            engine,
            session_key=resolve_secret("SESSION_KEY", secrets_dir / "session.key"),
            max_age_s=settings.session_max_age_s,
        ),
        tokens=TokenService(engine),
        audit=AuditService(engine),
        denials=DenialService(engine, retention_s=settings.audit_denial_retention_s),
        upstreams=UpstreamService(
            engine,
            own_host=settings.admin_host,
            own_port=settings.admin_port,
            health_timeout_s=settings.upstream_health_timeout_s,
            private=(("127.0.0.1", settings.dataplane_internal_port),),
        ),
        observability=ObservabilityService(engine),
        guards=GuardService(engine, publishing, lag_s=settings.guard_lag_s),
        overrides=OverrideService(
            load_key_ring("OVERRIDE_KEY", secrets_dir / "override.key").current.decode()
        ),
        sync_lag=sync_lag,
        sync_conflicts=SyncConflictService(
            settings.sync_outboxes, writer=load_writer(settings.sync_resolver)
        ),
    )
