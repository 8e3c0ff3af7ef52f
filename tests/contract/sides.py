"""Both sides of the contract as real processes: LegacyShop (gunicorn, migrated and seeded) and the catalog
service (gunicorn) loaded with the same products through the ACL's backfill."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.legacy_shop import prepare_legacy_shop, start_legacy_shop
from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN, RunningProcess, start_process

__all__ = ["SEED_PRODUCTS", "Answer", "Side", "fetch", "mask_csrf", "running_sides"]

SEED_PRODUCTS = 200


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass(frozen=True)
class Side:
    name: str
    base_url: str
    process: RunningProcess
    strangler_home: Path | None = None  # the catalog's (its identity key lives there)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


def fetch(
    side: Side, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes | None = None
) -> Answer:
    """One request over a fresh connection; redirects are not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", side.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        body = response.read()
        # several Set-Cookie or Vary headers are joined, as a client would see them
        merged: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return Answer(response.status, response.reason, merged, body)
    finally:
        connection.close()


def _run(argv: list[str], env: Mapping[str, str], what: str) -> str:
    result = subprocess.run(
        argv, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def running_sides(workdir: Path, *, catalog_database_url: str | None = None) -> Iterator[tuple[Side, Side]]:
    """Start the seeded monolith, backfill the catalog from its database, start the catalog (on its
    default SQLite file, or on ``catalog_database_url``)."""
    seed = ["--products", str(SEED_PRODUCTS), "--customers", "3", "--orders", "5"]
    monolith = prepare_legacy_shop(workdir / "legacy", seed=seed, workers=2)
    if f"{SEED_PRODUCTS} products" not in monolith.seeded:
        raise RuntimeError(f"unexpected seed output: {monolith.seeded}")
    legacy_port, catalog_port = monolith.port, free_port()

    catalog_env = {
        "STRANGLER_HOME": str(workdir / "home"),
        "CATALOG_PORT": str(catalog_port),
        "CATALOG_WORKERS": "2",
    }
    if catalog_database_url is not None:
        catalog_env["CATALOG_DATABASE_URL"] = catalog_database_url
    report = _run(
        [
            sys.executable,
            "-m",
            "new_services.catalog",
            "backfill",
            "--legacy-database-url",
            monolith.database_url,
        ],
        catalog_env,
        "catalog backfill from the legacy database (rejected rows are listed on stderr)",
    )
    if f"written {SEED_PRODUCTS}, rejected 0" not in report:
        raise RuntimeError(f"backfill did not copy every product: {report}")

    with ExitStack() as stack:
        legacy = start_legacy_shop(monolith)
        stack.callback(legacy.stop)
        catalog = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "new_services/catalog/gunicorn.conf.py",
                "new_services.catalog.entrypoints.wsgi:app",
            ],
            log_path=workdir / "catalog.log",
            env=catalog_env,
            ready_url=f"http://127.0.0.1:{catalog_port}/readyz",
        )
        stack.callback(catalog.stop)
        yield (
            Side("monolith", f"http://127.0.0.1:{legacy_port}", legacy),
            Side("catalog", f"http://127.0.0.1:{catalog_port}", catalog, workdir / "home"),
        )


_CSRF_INPUT = re.compile(rb'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]{64}(")')


def mask_csrf(body: bytes) -> bytes:
    """Form tokens are random per response on both sides; everything else must match."""
    return _CSRF_INPUT.sub(rb"\1<token>\2", body)
