"""First start: migrate the store, register the legacy upstream, publish version 1 (everything to
legacy, author "system") and create the admin user with a random password kept in a 0600 file.
Every start also registers the upstreams of ``STRANGLER_UPSTREAMS`` that are not registered yet, and,
when ``STRANGLER_LEGACY_URL`` is set, moves the legacy there (a new version) if it is elsewhere."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from strangler_proxy.controlplane.errors import Refused
from strangler_proxy.controlplane.repositories import audit, upstreams, versions
from strangler_proxy.controlplane.service_layer.auth import AuthService, Role
from strangler_proxy.controlplane.service_layer.clock import Clock, utcnow
from strangler_proxy.controlplane.service_layer.publishing import Actor, PublishingService
from strangler_proxy.controlplane.service_layer.upstream_moves import publish_upstream_change
from strangler_proxy.controlplane.service_layer.upstreams import UpstreamService
from strangler_proxy.routes import LEGACY, RouteTable
from strangler_proxy.secrets import configured_secret, load_or_create_secret
from strangler_proxy.store.migrate import upgrade_to_head

__all__ = ["ADMIN_USERNAME", "BootstrapReport", "bootstrap_store"]

log = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class BootstrapReport:
    revision: str
    published_first_version: bool
    created_admin: bool


def bootstrap_store(
    engine: Engine,
    *,
    legacy_url: str,
    upstream_service: UpstreamService,
    auth: AuthService,
    admin_password_file: Path,
    extra_upstreams: Mapping[str, str] | None = None,
    legacy_url_given: bool = False,
    clock: Clock = utcnow,
) -> BootstrapReport:
    revision = upgrade_to_head(engine)
    published = _first_version(engine, legacy_url, upstream_service, clock)
    if not published and legacy_url_given:
        _move_legacy(engine, legacy_url, upstream_service, clock)
    _register_missing(upstream_service, extra_upstreams or {})
    created_admin = False
    if auth.user_count() == 0:
        password = configured_secret("ADMIN_PASSWORD")
        where = "STRANGLER_ADMIN_PASSWORD(_FILE)"
        if password is None:
            password, where = load_or_create_secret(admin_password_file, nbytes=18), str(admin_password_file)
        auth.create_user(ADMIN_USERNAME, password, Role.ADMIN)
        created_admin = True
        log.info("created user %r; its password is in %s", ADMIN_USERNAME, where)
    return BootstrapReport(revision=revision, published_first_version=published, created_admin=created_admin)


def _move_legacy(engine: Engine, legacy_url: str, upstream_service: UpstreamService, clock: Clock) -> None:
    """``STRANGLER_LEGACY_URL`` set and naming another address than the registered legacy: register it
    and publish the active table with it (reason ``upstream legacy moved OLD -> NEW``)."""
    try:
        wanted = upstream_service.parse({"name": LEGACY, "url": legacy_url}, resolve=False)
    except Refused as exc:
        raise RuntimeError(
            f"STRANGLER_LEGACY_URL={legacy_url!r} is refused: {'; '.join(exc.problems)}"
        ) from exc
    registered = upstream_service.get(LEGACY)
    if registered.url != wanted.url:
        upstream_service.save({**registered.model_dump(mode="json"), "url": wanted.url}, resolve=False)
        log.info("STRANGLER_LEGACY_URL moves the legacy from %s to %s", registered.url, wanted.url)
    result = publish_upstream_change(
        PublishingService(engine, clock=clock), upstream_service.get(LEGACY), actor=Actor(SYSTEM_ACTOR)
    )
    if result is not None:
        log.info("published version %s: the legacy upstream at %s", result.version, wanted.url)


def _register_missing(upstream_service: UpstreamService, wanted: Mapping[str, str]) -> None:
    """Register each ``name=url`` not registered yet; a registered name keeps its address (an admin may
    have moved it), and a warning says so when the configuration now names another one."""
    known = {u.name: u for u in upstream_service.list()}
    for name, url in wanted.items():
        if name in known:
            registered = known[name].url
            if registered.rstrip("/") != url.rstrip("/"):
                log.warning(
                    "upstream %s stays at %s, where it is registered; the configuration (STRANGLER_UPSTREAMS,"
                    " strangler.toml's services) now says %s: move it with `strangler routes register %s %s`",
                    name,
                    registered,
                    url,
                    name,
                    url,
                )
            continue
        try:
            upstream_service.save({"name": name, "url": url}, resolve=False)
        except Refused as exc:
            raise RuntimeError(
                f"STRANGLER_UPSTREAMS: {name}={url} is refused: {'; '.join(exc.problems)}"
            ) from exc
        log.info("registered upstream %s at %s", name, url)


def _first_version(engine: Engine, legacy_url: str, upstream_service: UpstreamService, clock: Clock) -> bool:
    with engine.connect() as conn:
        if versions.active_pointer(conn) is not None:
            return False
    try:
        legacy = upstream_service.parse({"name": LEGACY, "url": legacy_url}, resolve=False)
    except Refused as exc:
        raise RuntimeError(
            f"STRANGLER_LEGACY_URL={legacy_url!r} is refused: {'; '.join(exc.problems)}"
        ) from exc
    now = clock()
    try:
        with engine.begin() as conn:
            if upstreams.get_upstream(conn, LEGACY) is None:
                upstreams.save_upstream(conn, legacy, now=now)
            else:
                legacy = upstreams.get_upstream(conn, LEGACY) or legacy
            reason = "bootstrap: everything to legacy"
            stored = versions.insert_version(
                conn,
                RouteTable(upstreams={LEGACY: legacy}),
                author=SYSTEM_ACTOR,
                reason=reason,
                parent_id=None,
                now=now,
            )
            versions.create_pointer(conn, stored.version, now=now)
            audit.append(
                conn,
                audit.AuditEntry(
                    at=now,
                    actor=SYSTEM_ACTOR,
                    action="bootstrap",
                    target="*",
                    outcome="ok",
                    version_after=stored.version,
                    reason=reason,
                ),
            )
    except IntegrityError:
        log.info("another process bootstrapped the store first")
        return False
    return True
