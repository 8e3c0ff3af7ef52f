"""A real sync stack for the tests: LegacyShop under gunicorn (migrated, seeded), the catalog database
backfilled through ``python -m acl.sync backfill``, and the relay / consumer / reverse relay processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import Engine, create_engine, text

from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN, RunningProcess, start_process

__all__ = ["SyncStack", "eventually", "running_sync_stack"]

SEED_PRODUCTS = 120
STAFF = ("staff", "staff-password-123")


def eventually(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns a truthy value (returned) or ``timeout`` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached after {timeout}s (last: {last!r})")


def _sqlalchemy_url(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    )


@dataclass
class SyncStack:
    workdir: Path
    env: dict[str, str]
    legacy_url: str
    legacy_database_url: str
    catalog_database_url: str
    sync_database_url: str
    processes: dict[str, RunningProcess] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    """More databases for ``engine`` by name (e.g. "orders")."""
    _engines: dict[str, Engine] = field(default_factory=dict)
    _staff: httpx2.Client | None = None

    def engine(self, which: str) -> Engine:
        """ "legacy", "catalog", "sync" or a name in ``database_urls``."""
        if which not in self._engines:
            url = {
                "legacy": self.legacy_database_url,
                "catalog": self.catalog_database_url,
                "sync": self.sync_database_url,
                **self.database_urls,
            }[which]
            self._engines[which] = create_engine(_sqlalchemy_url(url))
        return self._engines[which]

    def scalar(self, which: str, sql: str, **params: Any) -> Any:
        with self.engine(which).connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def rows(self, which: str, sql: str, **params: Any) -> list[Any]:
        with self.engine(which).connect() as connection:
            return list(connection.execute(text(sql), params))

    def execute(self, which: str, sql: str, **params: Any) -> None:
        with self.engine(which).begin() as connection:
            connection.execute(text(sql), params)

    def sync(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``python -m acl.sync ARGS`` with the stack's environment."""
        result = subprocess.run(
            [sys.executable, "-m", "acl.sync", *args],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"acl.sync {args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def start(
        self, command: str, *, name: str | None = None, env: Mapping[str, str] | None = None
    ) -> RunningProcess:
        """Start ``python -m acl.sync <command>`` and wait for its /readyz (first successful loop);
        ``name`` (default: the command) keys it for ``stop``, ``env`` adds to the stack's environment."""
        port = free_port()
        name = name or command
        process = start_process(
            [sys.executable, "-m", "acl.sync", command, "--health-port", str(port)],
            log_path=self.workdir / f"{name}.log",
            env={**self.env, **(env or {})},
            ready_url=f"http://127.0.0.1:{port}/readyz",
        )
        self.processes[name] = process
        return process

    def stop(self, name: str) -> None:
        self.processes.pop(name).stop()

    def set_stock(self, product_id: int, quantity: int) -> dict[str, Any]:
        """The monolith's own stock API, as staff in a session (one password hash per stack, not per call)."""
        return self.stock_write(product_id, {"quantity": quantity})

    def move_stock(self, product_id: int, delta: int) -> dict[str, Any]:
        """Move the monolith's stock by ``delta`` through its stock API, as staff."""
        return self.stock_write(product_id, {"delta": delta})

    def admin_change_product(self, product_id: int, **columns: str) -> None:
        """Change a product's columns (``prd_nm="..."``, ``unit_prc="..."``) through the monolith's admin
        change form, as staff; the rest of the form as the row holds it."""
        row = self.rows(
            "legacy",
            "SELECT prd_cd, prd_nm, prd_desc, unit_prc, stk_qty, sts_cd, ctg_id FROM tbl_product"
            " WHERE prd_id = :id",
            id=product_id,
        )[0]
        client = self._staff_client()
        path = f"/admin/catalog/product/{product_id}/change/"
        page = client.get(path).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = {
            "prd_cd": row.prd_cd,
            "prd_nm": row.prd_nm,
            "prd_desc": row.prd_desc,
            "unit_prc": row.unit_prc,
            "stk_qty": str(row.stk_qty),
            "sts_cd": row.sts_cd,
            "ctg": str(row.ctg_id),
            **columns,
            "csrfmiddlewaretoken": token,
            "_save": "Save",
        }
        response = client.post(path, data=form)
        assert response.status_code == 302, response.text[:2000]

    def _staff_client(self) -> httpx2.Client:
        if self._staff is None:
            client = httpx2.Client(base_url=self.legacy_url, timeout=30)
            page = client.get("/accounts/login/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            login = client.post(
                "/accounts/login/",
                data={"username": STAFF[0], "password": STAFF[1], "csrfmiddlewaretoken": token},
            )
            assert login.status_code == 302, login.text[:500]
            self._staff = client
        return self._staff

    def stock_write(
        self, product_id: int, body: dict[str, int], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        client = self._staff_client()
        response = client.post(
            f"/api/products/{product_id}/stock",
            json=body,
            headers={"X-CSRFToken": client.cookies["csrftoken"], **(headers or {})},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def legacy_product(self, product_id: int) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.legacy_url}/api/products/{product_id}", timeout=10) as response:
            return json.loads(response.read())

    def catalog_stock(self, product_id: int) -> int | None:
        return self.scalar("catalog", "SELECT stock FROM catalog_products WHERE id = :id", id=product_id)

    def dispose(self) -> None:
        if self._staff is not None:
            self._staff.close()
        for engine in self._engines.values():
            engine.dispose()


def _run(argv: list[str], env: Mapping[str, str], what: str) -> str:
    result = subprocess.run(
        argv, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def running_sync_stack(
    workdir: Path,
    *,
    legacy_database_url: str | None = None,
    catalog_database_url: str | None = None,
    sync_database_url: str | None = None,
    redis_url: str | None = None,
    monolith_env: Mapping[str, str] | None = None,
) -> Iterator[SyncStack]:
    """SQLite files under ``workdir`` unless URLs are given; Redis Streams when ``redis_url`` is;
    ``monolith_env`` adds to the monolith's environment (``OTEL_*``, say)."""
    legacy_dir = workdir / "legacy"
    legacy_dir.mkdir(parents=True)
    legacy_database_url = legacy_database_url or f"sqlite:///{legacy_dir / 'legacy.sqlite3'}"
    catalog_database_url = catalog_database_url or f"sqlite:///{workdir / 'catalog.sqlite3'}"
    sync_database_url = sync_database_url or f"sqlite:///{workdir / 'sync.sqlite3'}"
    legacy_port = free_port()
    token = uuid.uuid4().hex
    legacy_env = {
        "LEGACYSHOP_DATA_DIR": str(legacy_dir),
        "LEGACYSHOP_PORT": str(legacy_port),
        "LEGACYSHOP_WORKERS": "2",
        "LEGACYSHOP_INTERNAL_TOKEN": token,
        "DATABASE_URL": legacy_database_url,
        "DJANGO_SETTINGS_MODULE": "legacy_monolith.legacyshop.settings",
    }
    manage = [sys.executable, "legacy_monolith/manage.py"]
    _run([*manage, "migrate", "--noinput", "-v", "0"], legacy_env, "legacy migrate")
    _run(
        [*manage, "seed", "--products", str(SEED_PRODUCTS), "--customers", "2", "--orders", "2"],
        legacy_env,
        "legacy seed",
    )
    env = {
        "STRANGLER_HOME": str(workdir / "home"),
        "STRANGLER_SYNC_LEGACY_DATABASE_URL": legacy_database_url,
        "STRANGLER_SYNC_DATABASE_URL": sync_database_url,
        "CATALOG_DATABASE_URL": catalog_database_url,
        "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{legacy_port}",
        "LEGACYSHOP_INTERNAL_TOKEN": token,
        "STRANGLER_SYNC_TRANSPORT": "redis" if redis_url else "sql",
        "STRANGLER_SYNC_REDIS_URL": redis_url or "redis://127.0.0.1:6379/0",
        "STRANGLER_SYNC_STREAM": f"strangler:test:{uuid.uuid4().hex[:12]}",
    }
    stack = SyncStack(
        workdir=workdir,
        env=env,
        legacy_url=f"http://127.0.0.1:{legacy_port}",
        legacy_database_url=legacy_database_url,
        catalog_database_url=catalog_database_url,
        sync_database_url=sync_database_url,
    )
    with ExitStack() as cleanup:
        cleanup.callback(stack.dispose)
        if redis_url:
            cleanup.callback(_delete_stream, redis_url, env["STRANGLER_SYNC_STREAM"])
        legacy = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "legacy_monolith/gunicorn.conf.py",
                "legacy_monolith.wsgi:application",
            ],
            log_path=workdir / "gunicorn.log",
            env={**legacy_env, **(monolith_env or {})},
            ready_url=f"http://127.0.0.1:{legacy_port}/readyz",
        )
        cleanup.callback(legacy.stop)
        cleanup.callback(lambda: [process.stop() for process in list(stack.processes.values())])
        yield stack


def _delete_stream(url: str, stream: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.delete(stream)
    finally:
        client.close()
