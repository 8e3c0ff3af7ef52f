"""`strangler export gateway-api` against a real control plane: once, and watching every publish."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
import yaml

from tests.integration.controlplane.conftest import start_control_plane
from tests.support.net import free_port
from tests.support.processes import ROOT, RunningProcess, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("gateway-api-cli")]


def _exported_version(path: Path) -> int | None:
    if not path.exists():
        return None
    routes = [o for o in yaml.safe_load_all(path.read_text()) if o["kind"] == "HTTPRoute"]
    return int(routes[0]["metadata"]["annotations"]["strangler-fig/route-table-version"])


def _until(condition, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_export_once_then_watch_rewrites_on_every_publish_and_keeps_the_last_good_file(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    legacy_port = free_port()
    plane = start_control_plane(home, tmp_path, STRANGLER_LEGACY_URL=f"http://127.0.0.1:{legacy_port}")
    watcher: RunningProcess | None = None
    strangler = [sys.executable, "-c", "from migration_plan.cli.main import main; main()"]
    try:
        with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as api:
            api.post(
                "/session", json={"username": "admin", "password": plane.admin_password()}
            ).raise_for_status()
            api.put("/upstreams/catalog", json={"url": "http://127.0.0.1:8201"}).raise_for_status()
            beta = [{"name": "X-Beta", "equals": "1"}]
            rule = {"name": "products", "match": {"path": "/api/products", "headers": beta}}
            api.post("/routes", json={"rule": rule, "reason": "add"}).raise_for_status()

            once = subprocess.run(
                [*strangler, "export", "gateway-api", "--namespace", "shop"],
                env={**os.environ, **plane.env},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert once.returncode == 0, once.stderr
            objects = list(yaml.safe_load_all(once.stdout))
            assert [o["kind"] for o in objects] == ["HTTPRoute", "Service"]  # the route is still legacy
            assert objects[0]["spec"]["rules"][0]["backendRefs"] == [{"name": "legacy", "port": legacy_port}]
            assert {o["metadata"]["namespace"] for o in objects} == {"shop"}

            out = tmp_path / "gitops" / "strangler.yaml"
            watcher = start_process(
                [*strangler, "export", "gateway-api", "--out", str(out), "--watch", "--interval", "0.2"],
                log_path=tmp_path / "watch.log",
                env=plane.env,
            )
            active = api.get("/versions/active").json()["version"]
            _until(lambda: _exported_version(out) == active, "the first export")
            flipped = api.post(
                "/routes/products/flip",
                json={"mode": "canary", "weight": 10, "upstream": "catalog", "reason": "10%"},
            ).json()["version"]
            _until(lambda: _exported_version(out) == flipped, "the export of the flip")
            [route] = [o for o in yaml.safe_load_all(out.read_text()) if o["kind"] == "HTTPRoute"]
            assert [b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]] == [90, 10]

            # a later, more specific rule the Gateway would prefer over the earlier one for a request with
            # the header: the export is refused and the file keeps the last good one
            items = {"name": "items", "match": {"path": "/api/products/items"}}
            api.post("/routes", json={"rule": items, "reason": "add"}).raise_for_status()
            _until(lambda: "refused" in watcher.log(), "the watch to refuse the table")
            assert "'products' and 'items'" in watcher.log()
            assert _exported_version(out) == flipped
            assert watcher.alive()
    finally:
        if watcher is not None:
            watcher.stop()
        plane.process.stop()
