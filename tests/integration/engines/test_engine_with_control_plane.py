"""The control plane in front of HAProxy, end to end: every publish, rollback and panic made through the
admin API is applied to HAProxy and reported served; what HAProxy cannot do is refused at publish time;
tester overrides minted by the control plane are honoured; and a guard judges the engine's own figures
and rolls a failing canary back by itself."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.integration.controlplane.conftest import start_control_plane, start_upstream
from tests.integration.controlplane.test_guard_end_to_end import Traffic, _wait_for
from tests.integration.dataplane.harness import Store
from tests.integration.engines.harness import require_haproxy, start_engine

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("haproxy-control-plane")]


def test_the_control_plane_drives_haproxy_and_its_guards_read_haproxys_figures(tmp_path: Path) -> None:
    require_haproxy()
    started = []
    try:
        legacy_url, legacy = start_upstream("legacy", tmp_path)
        started.append(legacy)
        new_url, new = start_upstream("catalog", tmp_path)
        started.append(new)
        home = tmp_path / "home"
        plane = start_control_plane(
            home,
            tmp_path,
            STRANGLER_LEGACY_URL=legacy_url,
            STRANGLER_ENGINE="haproxy",
            STRANGLER_GUARD_INTERVAL_S="0.25",
            STRANGLER_GUARD_LAG_S="2",
        )
        started.append(plane.process)
        store = Store(home / "store.sqlite3")
        engine = start_engine(home, store, legacy_url, extra_env={"STRANGLER_STATS_INTERVAL_S": "0.5"})
        started.append(engine.process)
        with (
            httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as api,
            httpx2.Client(base_url=engine.url, timeout=10) as shop,
        ):

            def served() -> int:
                """The version the engine reports serving, through the control plane's view of it."""
                [worker] = api.get("/workers").json()["workers"]
                assert worker["worker"].startswith("haproxy@")
                return worker["version"]

            def active() -> int:
                return api.get("/versions/active").json()["version"]

            def answered_by(path: str = "/catalog/items", **headers: str) -> str:
                shop.cookies.clear()
                return shop.get(path, headers=headers).json()["upstream"]

            api.post(
                "/session", json={"username": "admin", "password": plane.admin_password()}
            ).raise_for_status()
            api.put("/upstreams/catalog", json={"url": new_url}).raise_for_status()
            rule = {"name": "catalog", "match": {"path": "/catalog"}}
            api.post("/routes", json={"rule": rule, "reason": "add"}).raise_for_status()
            flip = {"mode": "new", "upstream": "catalog", "reason": "all in"}
            api.post("/routes/catalog/flip", json=flip).raise_for_status()
            _wait_for(lambda: served() == active(), 20, "HAProxy to serve the flip")
            assert answered_by() == "catalog"

            refused = api.post("/routes/catalog/flip", json={"mode": "shadow", "reason": "mirror"})
            assert refused.status_code == 422
            assert any("shadow mode" in p and "haproxy" in p for p in refused.json()["problems"])

            token = api.post("/override-token", json={"side": "legacy", "ttl_s": 300}).json()["token"]
            assert answered_by(**{"x-strangler-override": token}) == "legacy"

            api.post("/panic", json={"reason": "drill"}).raise_for_status()
            _wait_for(lambda: served() == active(), 20, "HAProxy to serve the panic")
            assert answered_by() == "legacy"
            api.post("/rollback", json={"reason": "undo the panic"}).raise_for_status()
            _wait_for(lambda: served() == active(), 20, "HAProxy to serve the rollback")
            assert answered_by() == "catalog"

            canary = {"mode": "canary", "weight": 50, "upstream": "catalog", "reason": "canary 50%"}
            flipped = api.post("/routes/catalog/flip", json=canary)
            flipped.raise_for_status()
            _wait_for(lambda: served() == active(), 20, "HAProxy to serve the canary")

            def guard_status() -> str:
                [guard] = [g for g in api.get("/guards").json()["guards"] if g["route"] == "catalog"]
                return guard["status"]

            traffic = Traffic(engine.url)
            traffic.start()
            try:
                _wait_for(lambda: guard_status() == "ok", 30, "the guard to judge a healthy window")
                httpx2.post(new_url + "/__control/fail").raise_for_status()
                _wait_for(
                    lambda: api.get("/routes/catalog").json()["rule"]["action"]["mode"] == "legacy",
                    45,
                    "the guard to roll the route back",
                )
                _wait_for(lambda: served() == active(), 20, "HAProxy to serve the guard's rollback")
            finally:
                traffic.stop()
            assert set(traffic.statuses) == {200}  # GETs fell back to the legacy: no customer saw a 500
            [entry] = api.get("/audit", params={"actor": "guard"}).json()["entries"]
            assert entry["version_before"] == flipped.json()["version"]
            assert all(w["new"]["error_rate"] > 0.5 for w in entry["evidence"]["windows"][-2:])
            assert answered_by() == "legacy"
        store.engine.dispose()
    finally:
        for process in reversed(started):
            process.stop()
