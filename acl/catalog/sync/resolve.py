"""Writing an operator's resolution of a product's conflict to both sides, so that they converge.

A parked stock level is resolved by a level both sides take, once no stock change is pending either
way (``acl.catalog.sync.resolve_stock``); a product's fields as follows.

A conflict parked on one side (``acl.catalog.sync.fields``) holds that side's values (``ours``) and the other
side's change (``theirs``). Keeping one of them writes its values to both sides as a forced change
(``sync_force``) with a version above both sides' counts, so both hold the chosen values, the same time
and the same fields version, and later changes are checked from there. The side whose value was kept
takes it unchanged (only its version and time move); the other side's value is overwritten, which is
the resolution.

A resolution is a compare-and-set: it never overwrites a change acknowledged after the operator looked.

* the side the conflict was parked on must still hold the fields version it was parked at
  (``found_version``): else its values are newer than the conflict shows, and the resolution is refused
  before anything is written (``ResolutionStale``: look at it again; the conflict now shows that side's
  current values and version, ``acl.catalog.sync.conflict_view``, which resolving again keeps or
  overwrites);
* each forced change carries the version read on its side (``sync_expect_version``); a side that moved
  since answers ``changed`` without applying or recording it, and the resolution fails naming that side
  (``ResolutionStale``; the conflict stays open).

* the service is written through its ``CatalogPort`` (``apply_field_changes``);
* the monolith through ``/internal/sync/apply``, as the reverse relay writes it; the monolith records
  the change in its outbox with the service's origin, so the forward consumer drops it as an echo.

Both writes are idempotent: their event ids derive from the parked event's (the service's also from the
monolith's version it expects), so resolving again after a failure writes nothing twice. The control
plane loads ``create_resolver`` by name (``STRANGLER_SYNC_RESOLVER``) and never imports this module.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Integer, String, column, inspect, select, table

from acl.catalog.field_changes import FIELD_COLUMNS, fields_change_payload, stock_level_payload
from acl.catalog.source import LEGACY_AGGREGATE_VERSION
from acl.catalog.sync.conflict_view import legacy_fields, record_fields, refresh_conflict
from acl.catalog.sync.fields import (
    CHANGED,
    CONFLICT_FIELD,
    EXPECT_FIELD,
    FORCE_FIELD,
    PRODUCT_AGGREGATE,
    FieldChange,
)
from acl.catalog.sync.port import CatalogPort
from acl.catalog.sync.resolve_stock import STOCK_FIELDS, stock_resolution
from acl.catalog.sync.settings import (
    CATALOG_ALIASES,
    CATALOG_DEFAULTS,
    CATALOG_DIRECTIONS,
    CatalogSyncSettings,
)
from acl.sync.core.engines import make_engine
from acl.sync.core.events import SyncEvent
from acl.sync.core.ports import load_port_factory
from acl.sync.settings import aliased_settings
from acl.sync.workers.internal_client import MonolithInternalClient
from acl.timezones import to_legacy_local

__all__ = ["ConflictResolver", "ResolutionFailed", "ResolutionStale", "create_resolver"]

_NAMESPACE = uuid.UUID("6f1c4d2e-5b0a-4f7e-9a51-2c8d3e4f5a60")


class ResolutionFailed(RuntimeError):
    """A side did not take the chosen values; the conflict stays open (resolving again is safe)."""


class ResolutionStale(ResolutionFailed):
    """A side changed since the conflict was parked or since its version was read: nothing newer is
    overwritten, the conflict stays open; look at it again (the control plane answers 409)."""

    stale = True


def _json(value: Any) -> dict[str, Any]:
    document = json.loads(value) if isinstance(value, str) else value
    return dict(document) if isinstance(document, Mapping) else {}


class ConflictResolver:
    """Writes the values an operator kept to both sides (a product's fields or stock; other conflicts
    are recorded only, their value written through the owning side's own API)."""

    def __init__(
        self,
        port: Callable[[], CatalogPort],
        legacy: MonolithInternalClient,
        legacy_engine: Engine,
        *,
        origin: str,
        service_engine: Engine | None = None,
    ) -> None:
        self._service_engine = service_engine
        self._port_factory = port
        self._built: CatalogPort | None = None
        self._legacy = legacy
        self._legacy_engine = legacy_engine
        self._origin = origin

    @property
    def _port(self) -> CatalogPort:
        """The service's port, built at the first resolution (building it migrates the service's
        database, which a control plane starting before the service must not do)."""
        if self._built is None:
            self._built = self._port_factory()
        return self._built

    def writes(self, conflict: Mapping[str, Any]) -> bool:
        """Whether this resolver writes the resolution of ``conflict`` (a sync_conflict row): a product's
        fields, or its stock (with the service's database to check nothing is pending)."""
        if conflict.get("aggregate_type") != PRODUCT_AGGREGATE:
            return False
        field = conflict.get("field")
        return field == CONFLICT_FIELD or (field in STOCK_FIELDS and self._service_engine is not None)

    def write(self, conflict: Mapping[str, Any], keep: str) -> dict[str, Any]:
        """Write the kept values of ``conflict`` to both sides; what was written. ResolutionFailed when a
        side refused or could not be reached."""
        if not self.writes(conflict):
            raise ValueError("only a product's fields and stock conflicts are written by the resolver")
        if conflict["field"] in STOCK_FIELDS:
            return self._write_stock(conflict, keep)
        ours, theirs = _json(conflict["ours"]), _json(conflict["theirs"])
        chosen = ours if keep == "ours" else theirs
        columns = [c for c in FIELD_COLUMNS if c in ours or c in theirs]
        values = {c: chosen[c] for c in columns if c in chosen}
        product_id = int(conflict["aggregate_id"])
        parked = str(conflict["event_id"])
        on_legacy, on_service = self._legacy_version(product_id), self._port.fields_version(product_id)
        # resolving again after the monolith could not be reached: the service holds this resolution
        # already, at the version the monolith takes too. The id names the monolith's version expected,
        # so a monolith that changed since is not taken for one that could not be reached.
        service_event = str(uuid.uuid5(_NAMESPACE, f"{parked}:service:{on_legacy}"))
        again = self._port.has_applied(service_event)
        counts = (
            on_legacy,
            on_service,
            int(conflict["found_version"]),
            int(conflict["expected_version"]) + 1,
        )
        version = on_service if again else 1 + max(counts)
        self._check_parked_side(
            conflict, on_legacy=on_legacy, on_service=on_service, resolved=again, version=version
        )
        stamp = to_legacy_local(datetime.now(UTC).replace(microsecond=0)).isoformat()
        if not again:
            change = FieldChange(
                service_event,
                "resolution",
                product_id,
                version,
                values,
                stamp,
                force=True,
                expect_version=on_service,
            )
            outcome = self._port.apply_field_changes([change])[0]
            if outcome == CHANGED:
                raise ResolutionStale(
                    f"product {product_id} changed on the service while the resolution was written "
                    f"(version {on_service} read): nothing was written, look at it again"
                )
            if outcome not in ("applied", "duplicate"):
                raise ResolutionFailed(
                    f"the service did not take the resolution of product {product_id}: {outcome}"
                )
        payload = fields_change_payload(product_id, values, version=version, updated=stamp)
        self._write_legacy(parked, product_id, {**payload, EXPECT_FIELD: on_legacy})
        return {"version": version, "values": values, "updated": stamp}

    def _check_parked_side(
        self, conflict: Mapping[str, Any], *, on_legacy: int, on_service: int, resolved: bool, version: int
    ) -> None:
        """ResolutionStale when the side holding ``conflict`` moved past the version it was parked at
        (its values are newer than the conflict shows), other than by this resolution (``resolved``: the
        service took it already, at ``version``); the conflict then shows that side's values now."""
        on_monolith = str(conflict["origin"]) == self._origin  # the service's change, parked there
        now = on_legacy if on_monolith else on_service
        found = int(conflict["found_version"])
        if now == found or (resolved and now == version):
            return
        product_id = int(conflict["aggregate_id"])
        columns = list(_json(conflict["ours"]))
        if on_monolith:
            engine: Engine | None = self._legacy_engine
            current = legacy_fields(self._legacy_engine, product_id, columns)
        else:
            engine, current = (
                self._service_engine,
                record_fields(self._port.product_record(product_id), columns),
            )
        if engine is not None and current is not None:
            refresh_conflict(engine, conflict, ours=current, found=now)
        side = "monolith" if on_monolith else "service"
        raise ResolutionStale(
            f"product {product_id} changed on the {side} since the conflict was parked (version {found} -> "
            f"{now}): look at it again (it now shows the {side}'s current values)"
        )

    def _write_stock(self, conflict: Mapping[str, Any], keep: str) -> dict[str, Any]:
        """The level kept, to both sides, once nothing is pending (``acl.catalog.sync.resolve_stock``)."""
        assert self._service_engine is not None  # writes() said so
        try:
            chosen = stock_resolution(
                conflict,
                keep,
                on_service=conflict["field"] == "stock",
                port=self._port,
                legacy=self._legacy_engine,
                service=self._service_engine,
                origin=self._origin,
            )
        except ValueError as exc:
            raise ResolutionFailed(str(exc)) from exc
        stamp = to_legacy_local(datetime.now(UTC).replace(microsecond=0)).isoformat()
        parked = str(conflict["event_id"])
        service_event = str(uuid.uuid5(_NAMESPACE, f"{parked}:service:{chosen.legacy_version}"))
        if self._port.has_applied(service_event):  # again, after the monolith could not be reached
            chosen = replace(chosen, version=chosen.service_version)
        outcome = self._port.resolve_stock(
            chosen.product_id,
            chosen.level,
            version=chosen.version,
            event_id=service_event,
            updated=stamp,
            expect_version=chosen.service_version,
        )
        if outcome == CHANGED:
            raise ResolutionStale(
                f"the stock of product {chosen.product_id} moved on the service while the resolution was "
                f"written (version {chosen.service_version} read): nothing was written, look at it again"
            )
        if outcome not in ("applied", "duplicate"):
            raise ResolutionFailed(f"the service did not take the stock of {chosen.product_id}: {outcome}")
        payload = stock_level_payload(chosen.product_id, chosen.level, version=chosen.version, updated=stamp)
        self._write_legacy(parked, chosen.product_id, {**payload, EXPECT_FIELD: chosen.legacy_version})
        return {"version": chosen.version, "values": {"stock": chosen.level}, "updated": stamp}

    def _write_legacy(self, parked: str, product_id: int, payload: dict[str, Any]) -> None:
        event = SyncEvent(
            event_id=str(uuid.uuid5(_NAMESPACE, f"{parked}:legacy")),
            aggregate_type=PRODUCT_AGGREGATE,
            aggregate_id=str(product_id),
            sequence=1,  # a resolution is applied whatever the sequence (sync_force)
            type="product.updated",
            payload={**payload, FORCE_FIELD: True},
            occurred_at=datetime.now(UTC),
            origin=self._origin,
        )
        try:
            [outcome] = self._legacy.apply_events([event])
        except Exception as exc:  # unreachable, 5xx: the conflict stays open, resolving again is safe
            raise ResolutionFailed(f"the monolith could not be reached: {exc}") from exc
        if outcome.outcome == CHANGED:
            raise ResolutionStale(
                f"product {product_id} changed on the monolith while the resolution was written: the "
                "monolith took nothing, look at it again"
            )
        if outcome.refused:
            raise ResolutionFailed(f"the monolith refused the resolution: {outcome.reason}")

    def _legacy_version(self, product_id: int) -> int:
        if not inspect(self._legacy_engine).has_table(LEGACY_AGGREGATE_VERSION):
            return 0
        versions = table(
            LEGACY_AGGREGATE_VERSION,
            column("aggregate_type", String),
            column("aggregate_id", String),
            column("version", Integer),
        )
        with self._legacy_engine.connect() as connection:
            found = connection.scalar(
                select(versions.c.version).where(
                    versions.c.aggregate_type == PRODUCT_AGGREGATE,
                    versions.c.aggregate_id == str(product_id),
                )
            )
        return int(found or 0)

    def close(self) -> None:
        if self._built is not None:
            self._built.close()
        self._legacy.close()
        self._legacy_engine.dispose()
        if self._service_engine is not None:
            self._service_engine.dispose()


def create_resolver() -> ConflictResolver:
    """The resolver for the catalog, from the sync processes' environment (``SyncSettings``, LegacyShop's
    own variable names read as well)."""
    settings = aliased_settings(os.environ, [CATALOG_ALIASES], [CATALOG_DEFAULTS], [CATALOG_DIRECTIONS])
    client = MonolithInternalClient(settings.legacy_url, settings.internal_token())
    return ConflictResolver(
        load_port_factory(CatalogSyncSettings().port_factory),
        client,
        make_engine(settings.legacy_database_url),
        origin=settings.origin,
        service_engine=make_engine(settings.service_database_url),
    )
