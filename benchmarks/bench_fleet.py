"""A fleet's propagation and rollback: three data planes (three homes, two workers each) on one
PostgreSQL store with one control plane; how long after a publish, and after a whole-table rollback,
the last of the six workers serves it.

The same scenario as ``bench_propagation`` (flips through the admin API, each followed by a rollback;
the time from the pointer swap to the last worker's ``applied_at``), with every worker of every data
plane counted. Prints ``fleet_propagation_p99_ms`` and ``fleet_rollback_p99_ms`` (target: at most
100 ms each) and their p50. The store is a database created for the run on
``BENCH_POSTGRES_ADMIN_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped
after it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile
from pathlib import Path

import psycopg

from benchmarks.bench_propagation import _postgres_database, _process, _scenario
from benchmarks.processes import free_port
from strangler_proxy.store.engine import make_engine

__all__ = ["measure", "run"]

HOSTS = 3
WORKERS_PER_HOST = 2
CHANGES = 30
"""Flips, and as many rollbacks."""
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def measure(
    store_url: str, *, hosts: int = HOSTS, workers_per_host: int = WORKERS_PER_HOST, changes: int = CHANGES
) -> dict[str, float]:
    """Start the control plane and ``hosts`` data planes on ``store_url``; return the figures."""
    with tempfile.TemporaryDirectory(prefix="strangler-fleet-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        shared = {
            "STRANGLER_STORE_URL": store_url,
            "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{free_port()}",
            "STRANGLER_ACCESS_LOG": "false",
            "STRANGLER_GUARDS_ENABLED": "false",
            # One fleet, one set of keys: what a host signs, every other host and service verifies.
            "STRANGLER_IDENTITY_KEY": secrets.token_urlsafe(32),
            "STRANGLER_OVERRIDE_KEY": secrets.token_urlsafe(32),
        }
        control_home = root / "controlplane"
        admin_port = free_port()
        admin_url = f"http://127.0.0.1:{admin_port}"
        control_env = {**shared, "STRANGLER_HOME": str(control_home), "STRANGLER_ADMIN_PORT": str(admin_port)}
        control_home.mkdir()
        stack.enter_context(
            _process(
                [sys.executable, "-m", "strangler_proxy.controlplane"],
                control_env,
                control_home / "controlplane.log",
                admin_url + "/readyz",
            )
        )
        for host in range(hosts):
            home = root / f"host-{host}"
            home.mkdir()
            internal_port = free_port()
            env = {
                **shared,
                "STRANGLER_HOME": str(home),
                "STRANGLER_INSTANCE_NAME": f"bench-host-{host}",
                "STRANGLER_ADMIN_PORT": str(admin_port),
                "STRANGLER_DATAPLANE_PORT": str(free_port()),
                "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
                "STRANGLER_DATAPLANE_WORKERS": str(workers_per_host),
            }
            stack.enter_context(
                _process(
                    [sys.executable, "-m", "strangler_proxy.dataplane"],
                    env,
                    home / "dataplane.log",
                    f"http://127.0.0.1:{internal_port}/_strangler/readyz",
                )
            )
        engine = make_engine(store_url)
        try:
            figures = _scenario(engine, admin_url, control_home, hosts * workers_per_host, changes)
        finally:
            engine.dispose()
    return {
        "fleet_propagation_p50_ms": figures["propagation_p50_ms"],
        "fleet_propagation_p99_ms": figures["propagation_p99_ms"],
        "fleet_rollback_p50_ms": figures["rollback_p50_ms"],
        "fleet_rollback_p99_ms": figures["rollback_p99_ms"],
        "fleet_workers": float(hosts * workers_per_host),
        "fleet_changes": figures["propagation_changes"],
    }


def run() -> None:
    admin_url = os.environ.get("BENCH_POSTGRES_ADMIN_URL", DEFAULT_ADMIN_URL)
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        print(f"fleet_propagation: skipped (no PostgreSQL at {admin_url}: {exc})")
        return
    with _postgres_database(admin_url) as store_url:
        figures = measure(store_url)
    for name in (
        "fleet_propagation_p99_ms",
        "fleet_rollback_p99_ms",
        "fleet_propagation_p50_ms",
        "fleet_rollback_p50_ms",
    ):
        print(f"{name}: {figures[name]:.1f}")
    print(f"fleet_workers: {int(figures['fleet_workers'])} ({HOSTS} hosts x {WORKERS_PER_HOST})")
    print(f"fleet_changes: {int(figures['fleet_changes'])}")


if __name__ == "__main__":
    run()
