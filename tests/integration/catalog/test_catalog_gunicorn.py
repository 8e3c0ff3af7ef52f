"""The catalog service as it runs in production: gunicorn with its config file, migrated at start,
filled by the backfill command, observed through /readyz, /metrics and its JSON logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_for_http
from tests.support.processes import ROOT, VENV_BIN, RunningProcess, start_process
from tests.unit.acl.legacy_db import legacy_row, make_legacy_database

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("catalog_gunicorn")]

GUNICORN = [
    str(VENV_BIN / "gunicorn"),
    "-c",
    "new_services/catalog/gunicorn.conf.py",
    "new_services.catalog.entrypoints.wsgi:app",
]


@dataclass
class Service:
    base_url: str
    process: RunningProcess
    home: Path


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def catalog_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "new_services.catalog", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("catalog")
    legacy_url = make_legacy_database(workdir / "legacy.sqlite3", [legacy_row(i) for i in range(1, 31)])
    port = free_port()
    env = {"STRANGLER_HOME": str(workdir / "home"), "CATALOG_PORT": str(port), "CATALOG_WORKERS": "2"}
    backfill = catalog_cli(["backfill", "--legacy-database-url", legacy_url, "--batch-size", "7"], env)
    assert backfill.returncode == 0, backfill.stderr
    assert "read 30, written 30, rejected 0 in 5 pages" in backfill.stdout
    process = start_process(
        GUNICORN, log_path=workdir / "catalog.log", env=env, ready_url=f"http://127.0.0.1:{port}/readyz"
    )
    try:
        yield Service(f"http://127.0.0.1:{port}", process, workdir / "home")
    finally:
        process.stop()


def test_default_database_lives_under_strangler_home(service: Service) -> None:
    assert (service.home / "services" / "catalog" / "catalog.sqlite3").is_file()


def test_health_and_readiness(service: Service) -> None:
    assert get(f"{service.base_url}/healthz") == (200, b'{"status": "ok"}')
    status, body = get(f"{service.base_url}/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready", "checks": {"database": "ok"}})


def test_serves_the_backfilled_products(service: Service) -> None:
    status, body = get(f"{service.base_url}/api/products?status=discontinued&sort=-price")
    data = json.loads(body)
    assert status == 200
    assert [item["id"] for item in data["results"]] == [30, 25, 20, 15, 10, 5]
    status, body = get(f"{service.base_url}/api/products/7")
    assert json.loads(body)["price"] == "7.07"
    assert json.loads(body)["created_at"] == "2016-03-08T10:00:00+01:00"


def test_logs_are_json_lines_with_the_request_id(service: Service) -> None:
    get(f"{service.base_url}/api/products/3", headers={"X-Request-ID": "contract-req-77"})
    wait_for_http(f"{service.base_url}/healthz")  # a second request: the first one's log line is flushed
    lines = [json.loads(line) for line in service.process.log().splitlines() if line.startswith("{")]
    matching = [line for line in lines if line.get("request_id") == "contract-req-77"]
    assert matching, service.process.log()[-2000:]
    assert matching[0]["path"] == "/api/products/3" and matching[0]["status"] == 200
    assert matching[0]["level"] == "info" and matching[0]["event"] == "request"


def test_metrics_add_up_every_workers_requests(service: Service) -> None:
    for _ in range(20):
        get(f"{service.base_url}/api/products/9999")
    # whichever of the two workers answers /metrics, it reports all twenty
    for _ in range(4):
        _, body = get(f"{service.base_url}/metrics")
        text = body.decode()
        assert "# TYPE catalog_http_requests_total counter" in text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("catalog_http_requests_total{")
            and 'endpoint="api.product_detail"' in line
            and 'status="404"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) == 20.0
    assert any((service.home / "services" / "catalog" / "metrics").glob("*.db"))


def test_not_ready_until_migrated(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "STRANGLER_HOME": str(tmp_path / "home"),
        "CATALOG_PORT": str(port),
        "CATALOG_WORKERS": "1",
        "CATALOG_MIGRATE_ON_START": "false",
    }
    process = start_process(
        GUNICORN, log_path=tmp_path / "catalog.log", env=env, ready_url=f"http://127.0.0.1:{port}/healthz"
    )
    try:
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 503
        assert json.loads(body)["checks"]["database"].startswith("error: database at migration None")
        migrated = catalog_cli(["migrate"], env)
        assert migrated.returncode == 0 and "catalog database at revision 0004" in migrated.stdout
        wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=10, alive=process.alive)
    finally:
        process.stop()


def test_backfill_fails_loudly_on_malformed_legacy_rows(tmp_path: Path) -> None:
    rows = [legacy_row(1), legacy_row(2, unit_prc="2.5"), legacy_row(3)]
    legacy_url = make_legacy_database(tmp_path / "legacy.sqlite3", rows)
    result = catalog_cli(
        ["backfill", "--legacy-database-url", legacy_url], {"STRANGLER_HOME": str(tmp_path / "home")}
    )
    assert result.returncode == 1
    assert "read 3, written 2, rejected 1" in result.stdout
    assert "rejected prd_id=2: legacy field 'unit_prc' = '2.5'" in result.stderr


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


def test_hup_replaces_every_worker_and_keeps_serving(tmp_path: Path) -> None:
    port = free_port()
    env = {"STRANGLER_HOME": str(tmp_path / "home"), "CATALOG_PORT": str(port), "CATALOG_WORKERS": "2"}
    process = start_process(
        GUNICORN, log_path=tmp_path / "catalog.log", env=env, ready_url=f"http://127.0.0.1:{port}/readyz"
    )
    try:
        deadline = time.monotonic() + 30
        while len(before := _children(process.pid)) < 2:
            assert time.monotonic() < deadline, process.log()
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGHUP)
        while True:
            after = _children(process.pid)
            if len(after) >= 2 and not after & before:
                break
            assert time.monotonic() < deadline and process.alive(), process.log()
            time.sleep(0.05)
        wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=10, alive=process.alive)
        assert get(f"http://127.0.0.1:{port}/api/products")[0] == 200
    finally:
        process.stop()
