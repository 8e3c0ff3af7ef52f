"""Data sync figures: lag p99 at 200 writes/s on both transports, and a 100,000-product backfill.

Lag: a migrated, seeded LegacyShop on SQLite files in a temporary folder; the catalog backfilled; the
relay and the consumer run as real processes (``python -m acl.sync relay|consume``) on the SQL stream,
then on Redis Streams. ``benchmarks.sync_writer`` checks out one unit per write through the monolith's
service function at 200 writes/s for 10 s. An event's lag is the consumer's ``applied_at`` minus the
outbox's ``occurred_at`` (written in the business transaction), both from the inbox (``sync_inbox``).

Backfill: 100,000 legacy products bulk-inserted into a freshly migrated monolith database, then
``python -m acl.sync backfill catalog`` into a fresh catalog database, timed from process start to exit.

Reverse: the monolith under gunicorn and ``python -m acl.sync reverse``; the bench writes like the catalog
would (stock UPDATE + ``record_product_change`` in one transaction of the catalog database) at 200
writes/s for 10 s; an event's lag is the monolith's ``internal_applied_event.applied_at`` minus the
service outbox's ``occurred_at``.

Prints ``sync_lag_p99_ms_sql``, ``sync_lag_p99_ms_redis``, ``sync_lag_p99_ms_reverse`` (targets: at most
1000) and ``backfill_100k_s`` (target: at most 60). One figure alone:
``python -m benchmarks.bench_sync reverse`` (or ``sql``, ``redis``, ``backfill``).
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

from benchmarks.processes import Child, free_port, wait_http

__all__ = ["measure_backfill", "measure_lag", "measure_reverse_lag", "reverse_lags", "run"]

ROOT = Path(__file__).resolve().parents[1]
RATE = 200
SECONDS = 10
BACKFILL_PRODUCTS = 100_000


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def _call(argv: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(
        argv, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def _legacy(folder: Path, token: str) -> dict[str, str]:
    data = folder / "legacy"
    data.mkdir(parents=True)
    return {
        "LEGACYSHOP_DATA_DIR": str(data),
        "LEGACYSHOP_INTERNAL_TOKEN": token,
        "DATABASE_URL": f"sqlite:///{data / 'legacy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "legacy_monolith.legacyshop.settings",
    }


def _sync_env(folder: Path, legacy_env: dict[str, str], transport: str) -> dict[str, str]:
    return {
        **legacy_env,
        "STRANGLER_HOME": str(folder),
        "STRANGLER_SYNC_LEGACY_DATABASE_URL": legacy_env["DATABASE_URL"],
        "STRANGLER_SYNC_DATABASE_URL": f"sqlite:///{folder / 'sync.sqlite3'}",
        "CATALOG_DATABASE_URL": f"sqlite:///{folder / 'catalog.sqlite3'}",
        "STRANGLER_SYNC_TRANSPORT": transport,
        "STRANGLER_SYNC_STREAM": f"strangler:bench:{uuid.uuid4().hex[:12]}",
    }


def _wait_for(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached after {timeout}s")
        time.sleep(0.1)


def measure_lag(transport: str, *, rate: int = RATE, seconds: int = SECONDS) -> tuple[float, int]:
    """(p99 lag in ms, events applied) for ``transport`` ("sql" or "redis")."""
    with tempfile.TemporaryDirectory(prefix=f"bench-sync-{transport}-") as tmp:
        folder = Path(tmp)
        legacy_env = _legacy(folder, uuid.uuid4().hex)
        manage = [sys.executable, "legacy_monolith/manage.py"]
        _call([*manage, "migrate", "--noinput", "-v", "0"], legacy_env, "legacy migrate")
        _call([*manage, "seed", "--products", "200", "--customers", "2", "--orders", "0"], legacy_env, "seed")
        legacy = create_engine(legacy_env["DATABASE_URL"])
        with legacy.begin() as connection:  # enough stock for every checkout of the run
            connection.execute(text("UPDATE tbl_product SET stk_qty = 1000000, sts_cd = 'A'"))
        env = _sync_env(folder, legacy_env, transport)
        _call([sys.executable, "-m", "acl.sync", "backfill", "catalog", "--no-progress"], env, "backfill")
        children = []
        try:
            for command in ("relay", "consume"):
                port = free_port()
                child = Child(
                    [sys.executable, "-m", "acl.sync", command, "--health-port", str(port)],
                    log=folder / f"{command}.log",
                    env=env,
                )
                children.append(child)
                wait_http(f"http://127.0.0.1:{port}/readyz", child, timeout=60)  # after its first loop
            sync = create_engine(env["STRANGLER_SYNC_DATABASE_URL"])
            _call([sys.executable, "-m", "benchmarks.sync_writer", str(rate), str(seconds)], env, "writer")
            expected = rate * seconds
            _wait_for(lambda: _applied(sync) >= expected, 60, f"{expected} events applied")
            for child in children:
                child.check_alive()
            with sync.connect() as connection:
                rows = connection.execute(
                    text("SELECT occurred_at, applied_at FROM sync_inbox WHERE outcome = 'applied'")
                ).all()
            lags = [
                (_moment(applied) - _moment(occurred)).total_seconds() * 1000 for occurred, applied in rows
            ]
            sync.dispose()
        finally:
            for child in children:
                child.stop()
            if transport == "redis":
                _drop_stream(env["STRANGLER_SYNC_STREAM"])
            legacy.dispose()
        return _p99(lags), len(lags)


def measure_reverse_lag(*, rate: int = RATE, seconds: int = SECONDS) -> tuple[float, int]:
    """(p99 lag in ms, events applied by the monolith) for catalog writes sent through reverse sync."""
    lags = reverse_lags(rate=rate, seconds=seconds)
    return _p99(lags), len(lags)


def reverse_lags(*, rate: int = RATE, seconds: int = SECONDS) -> list[float]:
    """Each reverse event's lag in ms (monolith's applied_at minus the service outbox's occurred_at)."""
    from acl.catalog.records import ProductRecord
    from acl.catalog.sync.reverse import record_product_change
    from acl.sync.service.outbox import create_service_outbox
    from new_services.catalog.adapters.sync_port import CatalogSyncPort

    with tempfile.TemporaryDirectory(prefix="bench-sync-reverse-") as tmp:
        folder = Path(tmp)
        legacy_env = _legacy(folder, uuid.uuid4().hex)
        manage = [sys.executable, "legacy_monolith/manage.py"]
        _call([*manage, "migrate", "--noinput", "-v", "0"], legacy_env, "legacy migrate")
        _call([*manage, "seed", "--products", "200", "--customers", "2", "--orders", "0"], legacy_env, "seed")
        legacy_port = free_port()
        env = {
            **_sync_env(folder, legacy_env, "sql"),
            "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{legacy_port}",
        }
        _call([sys.executable, "-m", "acl.sync", "backfill", "catalog", "--no-progress"], env, "backfill")
        children: list[Child] = []
        catalog = create_engine(env["CATALOG_DATABASE_URL"], connect_args={"timeout": 30})
        legacy = create_engine(legacy_env["DATABASE_URL"])
        try:
            monolith = Child(
                [sys.executable, "-m", "gunicorn", "-c", "legacy_monolith/gunicorn.conf.py"],
                log=folder / "gunicorn.log",
                env={**legacy_env, "LEGACYSHOP_PORT": str(legacy_port), "LEGACYSHOP_WORKERS": "2"},
            )
            children.append(monolith)
            wait_http(f"http://127.0.0.1:{legacy_port}/readyz", monolith, timeout=60)
            health = free_port()
            relay = Child(
                [sys.executable, "-m", "acl.sync", "reverse", "--health-port", str(health)],
                log=folder / "reverse.log",
                env=env,
            )
            children.append(relay)
            wait_http(f"http://127.0.0.1:{health}/readyz", relay, timeout=60)
            records: list[ProductRecord] = list(CatalogSyncPort(catalog).product_records())
            with catalog.begin() as connection:
                create_service_outbox(connection)
            total = rate * seconds
            started = time.monotonic()
            for index in range(total):
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                record = records[index % len(records)]
                changed = replace(record, stock=record.stock + 1 + index)
                with catalog.begin() as connection:
                    connection.execute(
                        text("UPDATE catalog_products SET stock = :s WHERE id = :i"),
                        {"s": changed.stock, "i": record.id},
                    )
                    record_product_change(connection, record=changed, origin="catalog", columns=("stk_qty",))
            _wait_for(
                lambda: _count(legacy, "SELECT count(*) FROM internal_applied_event") >= total, 90, "applied"
            )
            for child in children:
                child.check_alive()
            lags = _applied_lags(catalog, legacy)
        finally:
            for child in reversed(children):
                child.stop()
            catalog.dispose()
            legacy.dispose()
        return lags


def _applied_lags(catalog, legacy) -> list[float]:  # type: ignore[no-untyped-def]
    """Each event of the catalog's outbox the monolith applied: its lag in ms, in write order."""
    with catalog.connect() as connection:
        occurred = {
            uuid.UUID(str(event_id)).hex: _moment(moment)
            for event_id, moment in connection.execute(
                text("SELECT event_id, occurred_at FROM service_outbox")
            )
        }
    with legacy.connect() as connection:
        applied = connection.execute(text("SELECT event_id, applied_at FROM internal_applied_event")).all()
    pairs = sorted((occurred[uuid.UUID(str(event_id)).hex], _moment(moment)) for event_id, moment in applied)
    return [(done - written).total_seconds() * 1000 for written, done in pairs]


def _count(engine, sql: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.scalar(text(sql)) or 0)


def _moment(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _has_table(engine, name: str) -> bool:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return bool(
            connection.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = :n"), {"n": name})
        )


def _applied(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT count(*) FROM sync_inbox WHERE outcome = 'applied'")) or 0)


def _drop_stream(stream: str) -> None:
    import redis

    client = redis.Redis.from_url(os.environ.get("STRANGLER_SYNC_REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        client.delete(stream)
    finally:
        client.close()


def measure_backfill(count: int = BACKFILL_PRODUCTS) -> float:
    """Seconds for ``python -m acl.sync backfill catalog`` to copy ``count`` products into a fresh catalog."""
    from acl.catalog.legacy_schema import tbl_category, tbl_product

    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        folder = Path(tmp)
        legacy_env = _legacy(folder, uuid.uuid4().hex)
        _call(
            [sys.executable, "legacy_monolith/manage.py", "migrate", "--noinput", "-v", "0"],
            legacy_env,
            "migrate",
        )
        legacy = create_engine(legacy_env["DATABASE_URL"])
        created = datetime(2016, 3, 1, 10, 0)
        with legacy.begin() as connection:
            connection.execute(
                insert(tbl_category).values(ctg_id=1, ctg_nm="Home", parent_id=None, cat_path="Home")
            )
            for start in range(0, count, 10_000):
                connection.execute(
                    insert(tbl_product),
                    [
                        {
                            "prd_id": n,
                            "prd_cd": f"LS-{n:06d}",
                            "prd_nm": f"Product {n}",
                            "prd_desc": f"Seeded product number {n}.",
                            "unit_prc": f"{n % 500 + 1}.{n % 100:02d}",
                            "stk_qty": n % 50,
                            "sts_cd": "D" if n % 11 == 0 else "A",
                            "ctg_id": 1,
                            "cat_path": "Home",
                            "crt_dt": created + timedelta(minutes=n),
                            "upd_dt": created + timedelta(minutes=n, days=30),
                        }
                        for n in range(start + 1, min(start + 10_000, count) + 1)
                    ],
                )
            seeded = connection.scalar(select(text("count(*)")).select_from(tbl_product))
        legacy.dispose()
        if seeded != count:
            raise RuntimeError(f"seeded {seeded} products, expected {count}")
        env = _sync_env(folder, legacy_env, "sql")
        started = time.monotonic()
        output = _call(
            [
                sys.executable,
                "-m",
                "acl.sync",
                "backfill",
                "catalog",
                "--no-progress",
                "--batch-size",
                "2000",
            ],
            env,
            "backfill",
        )
        elapsed = time.monotonic() - started
        if f"written {count}," not in output:
            raise RuntimeError(f"the backfill did not write every product: {output}")
        return elapsed


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _distribution(lags: list[float]) -> str:
    """Whether the lag grows over the run (the path applies fewer events than are written) or not."""
    first = lags[: max(1, len(lags) // 10)]
    return (
        f"first 10% p50 {statistics.median(first):.0f} ms, p50 {statistics.median(lags):.0f} ms,"
        f" max {max(lags):.0f} ms"
    )


def run_reverse() -> None:
    lags = reverse_lags()
    print(f"# reverse: {len(lags)} catalog writes applied to the monolith at {RATE} writes/s for {SECONDS} s")
    print(f"# reverse lag: {_distribution(lags)}", flush=True)
    print(f"sync_lag_p99_ms_reverse: {_p99(lags):.0f}", flush=True)


def run(selected: Sequence[str] = ()) -> None:
    """Every figure, or only those ``selected`` among "sql", "redis", "reverse", "backfill"."""
    unknown = set(selected) - {"sql", "redis", "reverse", "backfill"}
    if unknown:
        raise SystemExit(f"unknown figures {sorted(unknown)}: choose among sql, redis, reverse, backfill")
    wanted = set(selected) or {"sql", "redis", "reverse", "backfill"}
    if "sql" in wanted:
        _run_sql()
    if "redis" in wanted:
        _run_redis()
    if "reverse" in wanted:
        run_reverse()
    if "backfill" in wanted:
        print(f"backfill_100k_s: {measure_backfill():.1f}", flush=True)


def _run_sql() -> None:
    p99, applied = measure_lag("sql")
    print(f"# sql stream: {applied} events applied at {RATE} writes/s for {SECONDS} s", flush=True)
    print(f"sync_lag_p99_ms_sql: {p99:.0f}", flush=True)


def _run_redis() -> None:
    if _redis_reachable():
        p99, applied = measure_lag("redis")
        print(f"# redis streams: {applied} events applied at {RATE} writes/s for {SECONDS} s", flush=True)
        print(f"sync_lag_p99_ms_redis: {p99:.0f}", flush=True)
    else:
        print("# sync_lag_p99_ms_redis skipped: Redis is not reachable at 127.0.0.1:6379", flush=True)


if __name__ == "__main__":
    run(sys.argv[1:])
