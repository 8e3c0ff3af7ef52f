"""The data-sync workers of `strangler up`: relay, catalog consumer and reverse relay (acl.sync).

Builders for ``stack.EXTRA_SPECS``: each returns a ``ProcessSpec`` when the sync code and the catalog
service exist on disk, else None. The workers read the stack's state dir (the monolith's SQLite file and
internal token under ``legacy/``, the catalog's under ``services/catalog/``, their own ``sync/`` database)
and answer ``/healthz`` and ``/readyz`` on 127.0.0.1:``STRANGLER_SYNC_HEALTH_PORT`` (8301) and the two
ports after it. The consumer backfills the catalog once, on its first start, before consuming.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from migration_plan.supervisor.settings import StackSettings
from migration_plan.supervisor.spec import ProcessSpec, RestartPolicy, SetupStep

__all__ = ["SYNC_SPEC_BUILDERS", "sync_consumer_spec", "sync_relay_spec", "sync_reverse_spec"]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HEALTH_PORT = 8301


def _available(root: Path) -> bool:
    return (root / "acl" / "sync" / "__main__.py").is_file() and (
        root / "new_services" / "catalog" / "adapters" / "sync_port.py"
    ).is_file()


def _spec(settings: StackSettings, command: str, offset: int, **extra: object) -> ProcessSpec | None:
    if not _available(ROOT):
        return None
    port = int(os.environ.get("STRANGLER_SYNC_HEALTH_PORT", DEFAULT_HEALTH_PORT)) + offset
    env = {
        "STRANGLER_HOME": str(settings.home),
        "STRANGLER_LEGACY_URL": settings.resolved_legacy_url,
        "LEGACYSHOP_DATA_DIR": str(settings.home / "legacy"),
    }
    return ProcessSpec(
        name=f"sync-{command}",
        argv=(sys.executable, "-m", "acl.sync", command, "--health-port", str(port)),
        env=env,
        cwd=ROOT,
        health_urls=(f"http://127.0.0.1:{port}/readyz",),
        restart=RestartPolicy.ALWAYS,
        port=port,
        label=f"sync {command} (health)",
        startup_timeout=settings.startup_timeout,
        stop_grace=settings.stop_grace,
        **extra,  # type: ignore[arg-type]
    )


def sync_relay_spec(settings: StackSettings) -> ProcessSpec | None:
    """The monolith's outbox -> the sync stream."""
    return _spec(settings, "relay", 0)


def sync_consumer_spec(settings: StackSettings) -> ProcessSpec | None:
    """The sync stream -> the catalog; backfills the catalog on its first start."""
    marker = settings.home / "sync" / ".catalog-backfilled"
    backfill = SetupStep(
        argv=(sys.executable, "-m", "acl.sync", "backfill", "catalog", "--no-progress"), once_marker=marker
    )
    return _spec(settings, "consume", 1, setup=(backfill,))


def sync_reverse_spec(settings: StackSettings) -> ProcessSpec | None:
    """The catalog's outbox -> the monolith's /internal/sync/apply."""
    return _spec(settings, "reverse", 2)


SYNC_SPEC_BUILDERS: tuple[Callable[[StackSettings], ProcessSpec | None], ...] = (
    sync_relay_spec,
    sync_consumer_spec,
    sync_reverse_spec,
)
