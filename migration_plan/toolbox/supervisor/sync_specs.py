"""The data-sync workers of `strangler up`: relay, catalog consumer, reverse relays and orders consumer.

``sync_worker_specs(settings, root, environ)`` lists them when the sync code and the catalog's sync port
exist under ``root`` (looked up on disk, never imported), else nothing; the orders service's workers only
when it exists too. The workers read the stack's state dir (the monolith's SQLite file and internal token
under ``legacy/``, the services' under ``services/<name>/``, their own ``sync/`` database) and answer
``/healthz`` and ``/readyz`` on 127.0.0.1:``STRANGLER_SYNC_HEALTH_PORT`` (default: the monolith's port +
201, i.e. 8301) and the ``HEALTH_PORTS - 1`` ports after it, in this order: ``sync-relay``,
``sync-consume``, ``sync-reverse``, ``sync-reverse-orders``, ``sync-consume-orders`` (a project's own
reverse relays, migration_plan/toolbox/supervisor/reverse_specs.py, take the ports after those). Each consumer
backfills its service once, on its first start, before consuming.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.spec import ProcessSpec, RestartPolicy, SetupStep

__all__ = [
    "DIRECTIONS",
    "HEALTH_PORTS",
    "carried_directions",
    "health_base",
    "sync_consume_orders_spec",
    "sync_consumer_spec",
    "sync_relay_spec",
    "sync_reverse_orders_spec",
    "sync_reverse_spec",
    "sync_spec",
    "sync_worker_specs",
]

HEALTH_PORT_OFFSET = 201
HEALTH_PORTS = 5
"""Consecutive health ports from the base: relay, consumer, reverse relay, orders reverse relay, orders
consumer (reserved whether or not the orders service exists, so every stack takes the same range)."""


def _available(root: Path) -> bool:
    return (root / "acl" / "sync" / "__main__.py").is_file() and (
        root / "new_services" / "catalog" / "adapters" / "sync_port.py"
    ).is_file()


DIRECTIONS = {"reverse": "reverse", "reverse-orders": "reverse:orders"}
"""The reverse-sync direction each demo reverse relay carries (``[sync] reverse`` values)."""


def carried_directions(workers: Sequence[str]) -> frozenset[str]:
    """The reverse directions the demo workers ``workers`` (``[sync] workers``) carry."""
    return frozenset(DIRECTIONS[name] for name in workers if name in DIRECTIONS)


def health_base(settings: StackSettings, environ: Mapping[str, str]) -> int:
    """``STRANGLER_SYNC_HEALTH_PORT``, else 201 above the monolith's port (8301 beside 8100), so that two
    stacks with different ports (tests under ``pytest -n 2``) never share health ports either."""
    if environ.get("STRANGLER_SYNC_HEALTH_PORT", "").strip():  # empty: unset
        return int(environ["STRANGLER_SYNC_HEALTH_PORT"])
    above = settings.legacy_port + HEALTH_PORT_OFFSET
    return above if above + HEALTH_PORTS - 1 <= 65535 else settings.legacy_port - HEALTH_PORT_OFFSET


def sync_spec(
    name: str,
    command: str,
    port: int,
    env: Mapping[str, str],
    settings: StackSettings,
    root: Path,
    *,
    label: str,
    setup: tuple[SetupStep, ...] = (),
) -> ProcessSpec:
    """One sync worker: ``python -m acl.sync <command> --health-port <port>`` in ``root``, ready when its
    ``/readyz`` answers, always restarted; the one builder of every sync worker `strangler up` runs (the
    demo's, a project's reverse relays and its forward sync)."""
    return ProcessSpec(
        name=name,
        argv=(sys.executable, "-m", "acl.sync", command, "--health-port", str(port)),
        env=dict(env),
        cwd=root,
        health_urls=(f"http://127.0.0.1:{port}/readyz",),
        restart=RestartPolicy.ALWAYS,
        port=port,
        label=label,
        startup_timeout=settings.startup_timeout,
        stop_grace=settings.stop_grace,
        setup=setup,
    )


def _spec(
    settings: StackSettings,
    root: Path,
    environ: Mapping[str, str],
    command: str,
    offset: int,
    name: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    setup: tuple[SetupStep, ...] = (),
) -> ProcessSpec:
    env = {
        "STRANGLER_HOME": str(settings.home),
        "STRANGLER_LEGACY_URL": settings.resolved_legacy_url,
        **(extra_env or {}),
    }
    port = health_base(settings, environ) + offset
    label = f"sync {command} (health)"
    return sync_spec(name or f"sync-{command}", command, port, env, settings, root, label=label, setup=setup)


def sync_relay_spec(settings: StackSettings, root: Path, environ: Mapping[str, str]) -> ProcessSpec:
    """The monolith's outbox -> the sync stream."""
    return _spec(settings, root, environ, "relay", 0)


def sync_consumer_spec(settings: StackSettings, root: Path, environ: Mapping[str, str]) -> ProcessSpec:
    """The sync stream -> the catalog; backfills the catalog on its first start."""
    marker = settings.home / "sync" / ".catalog-backfilled"
    backfill = SetupStep(
        argv=(sys.executable, "-m", "acl.sync", "backfill", "catalog", "--no-progress"), once_marker=marker
    )
    return _spec(settings, root, environ, "consume", 1, setup=(backfill,))


def sync_reverse_spec(settings: StackSettings, root: Path, environ: Mapping[str, str]) -> ProcessSpec:
    """The catalog's outbox -> the monolith's /internal/sync/apply."""
    return _spec(settings, root, environ, "reverse", 2)


def sync_reverse_orders_spec(settings: StackSettings, root: Path, environ: Mapping[str, str]) -> ProcessSpec:
    """The orders service's outbox (``order.placed``) -> the monolith's /internal/sync/apply."""
    database = _orders_database(settings, environ)
    extra_env = {"STRANGLER_SYNC_ORIGIN": "orders", "STRANGLER_SYNC_SERVICE_DATABASE_URL": database}
    return _spec(settings, root, environ, "reverse", 3, name="sync-reverse-orders", extra_env=extra_env)


def _orders_database(settings: StackSettings, environ: Mapping[str, str]) -> str:
    return environ.get("ORDERS_DATABASE_URL") or (
        f"sqlite:///{settings.home / 'services' / 'orders' / 'orders.sqlite3'}"
    )


def sync_consume_orders_spec(settings: StackSettings, root: Path, environ: Mapping[str, str]) -> ProcessSpec:
    """The sync stream -> the orders service (its own inbox and, on Redis, its own consumer group).

    Backfills the orders service on its first start. Legacy orders that do not translate (say, a total
    edited in the admin that is not the sum of the lines) are listed and make the step fail, which only
    warns: the consumer starts anyway and the next start tries the backfill again.
    """
    marker = settings.home / "sync" / ".orders-backfilled"
    backfill = SetupStep(
        argv=(sys.executable, "-m", "acl.sync", "backfill", "orders", "--no-progress"),
        once_marker=marker,
        required=False,
    )
    extra_env = {"ORDERS_DATABASE_URL": _orders_database(settings, environ)}
    return _spec(
        settings,
        root,
        environ,
        "consume-orders",
        4,
        name="sync-consume-orders",
        extra_env=extra_env,
        setup=(backfill,),
    )


def sync_worker_specs(
    settings: StackSettings, root: Path, environ: Mapping[str, str] | None = None
) -> list[ProcessSpec]:
    """Relay, consumer, reverse relay and (with the orders service) its reverse relay and consumer, in
    that order; none when ``root`` lacks the sync code."""
    if not _available(root):
        return []
    environ = os.environ if environ is None else environ
    builders = [sync_relay_spec, sync_consumer_spec, sync_reverse_spec]
    if (root / "new_services" / "orders" / "entrypoints" / "wsgi.py").is_file():
        builders.append(sync_reverse_orders_spec)
    if (root / "new_services" / "orders" / "adapters" / "sync_port.py").is_file():
        builders.append(sync_consume_orders_spec)
    return [builder(settings, root, environ) for builder in builders]
