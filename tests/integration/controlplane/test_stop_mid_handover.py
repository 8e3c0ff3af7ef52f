"""A control plane asked to stop (SIGTERM) while a rollback waits in its handover: the waiting change
ends at once with 503 ``control_plane_stopping`` and Retry-After, its write fence is lifted, the route
stays where it was (its writes with their owner), and the refusal is audited; nothing waits out the
fence's bound or is cut off by the server's graceful window."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine

from acl.sync.core.lag import DirectionLag, store_lag
from acl.sync.core.tables import sync_lag, sync_metadata
from tests.integration.controlplane.conftest import ControlPlane, start_control_plane
from tests.support.net import free_port

pytestmark = pytest.mark.integration

STRANGLER = [str(Path(sys.executable).with_name("strangler"))]


def _cli_env(plane: ControlPlane) -> dict[str, str]:
    return {**os.environ, **plane.env, "STRANGLER_TOKEN": "", "COLUMNS": "200"}


def _cli(plane: ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STRANGLER, "routes", *args], env=_cli_env(plane), capture_output=True, text=True, timeout=60
    )


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _catalog_rule(admin: httpx2.Client) -> dict:
    table = admin.get("/versions/active").json()["table"]
    return next(rule for rule in table["rules"] if rule["name"] == "catalog")


def test_a_stop_ends_a_waiting_rollback_with_503_and_lifts_its_fence(tmp_path: Path) -> None:
    sync_url = f"sqlite:///{tmp_path / 'sync.sqlite3'}"
    engine = create_engine(sync_url)
    sync_metadata.create_all(engine, tables=[sync_lag])

    def relays_report() -> None:
        """The relays' latest figures (a handover trusts only fresh ones): the catalog's writes have not
        reached the monolith yet, so a rollback must wait for them."""
        store_lag(engine, [DirectionLag("forward", 0.0, 0, None), DirectionLag("reverse", 800.0, 3, None)])

    relays_report()
    env = {"STRANGLER_LEGACY_URL": f"http://127.0.0.1:{free_port()}", "STRANGLER_SYNC_DATABASE_URL": sync_url}
    plane = start_control_plane(tmp_path / "home", tmp_path, **env)
    restarted: ControlPlane | None = None
    try:
        assert _cli(plane, "register", "catalog", "http://127.0.0.1:18201").returncode == 0
        assert _cli(plane, "add", "catalog", "--path", "/catalog", "--reason", "extract").returncode == 0
        relays_report()
        flipped = _cli(plane, "flip", "catalog", "new", "--upstream", "catalog", "-r", "go", "--yes")
        assert flipped.returncode == 0, flipped.stdout + flipped.stderr

        relays_report()
        rollback = subprocess.Popen(
            [
                *STRANGLER,
                "routes",
                "rollback",
                "catalog",
                "--to",
                "legacy",
                "-r",
                "errors",
                "--drain-timeout",
                "25",
            ],
            env=_cli_env(plane),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as admin:
            login = admin.post("/session", json={"username": "admin", "password": plane.admin_password()})
            assert login.status_code == 200, login.text
            _wait_for(lambda: _catalog_rule(admin)["fence"] is not None, "the handover's fence")

        stopped_at = time.monotonic()
        os.kill(plane.process.pid, signal.SIGTERM)
        output, _ = rollback.communicate(timeout=20)
        answered_in = time.monotonic() - stopped_at
        plane.process.popen.wait(timeout=20)

        assert answered_in < 5, f"the rollback waited {answered_in:.1f} s after the stop"
        assert "control plane is stopping" in output and "the change was not made" in output, output
        assert rollback.returncode == 3, output  # unreachable: retry once the control plane is back

        restarted = start_control_plane(tmp_path / "home", tmp_path, **env)
        with httpx2.Client(base_url=restarted.url + "/api/v1", timeout=10) as admin:
            login = admin.post("/session", json={"username": "admin", "password": restarted.admin_password()})
            assert login.status_code == 200, login.text
            rule = _catalog_rule(admin)
            assert rule["fence"] is None, "the fence was lifted before the process ended"
            assert rule["action"]["mode"] == "new", "the rollback was not made: writes stay with the catalog"
            entries = admin.get("/audit", params={"action": "rollback"}).json()["entries"]
            refused = [entry for entry in entries if entry["outcome"] != "ok"]
            assert refused and refused[0]["evidence"]["stopped"] is True, entries
    finally:
        for process in (plane, restarted):
            if process is not None:
                process.process.stop()
        engine.dispose()
