"""A guard test end to end: a canary's new upstream starts failing under real traffic through the data
plane, and the control plane's guard returns the route to legacy by itself, audited with the evidence."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx2
import pytest

from tests.integration.controlplane.conftest import start_control_plane, start_data_plane, start_upstream

pytestmark = pytest.mark.integration


class Traffic(threading.Thread):
    """About 50 requests/s through the data plane, each as a new user (no cookies kept)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop_event = threading.Event()
        self.statuses: list[int] = []

    def run(self) -> None:
        with httpx2.Client(base_url=self.url, timeout=5) as client:
            while not self.stop_event.is_set():
                response = client.get("/catalog/items")
                client.cookies.clear()
                self.statuses.append(response.status_code)
                self.stop_event.wait(0.02)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)


def _wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_failing_canary_returns_to_legacy_by_itself(tmp_path: Path) -> None:
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
            STRANGLER_GUARD_INTERVAL_S="0.25",
            STRANGLER_GUARD_LAG_S="2",
        )
        started.append(plane.process)
        data_url, data = start_data_plane(
            home, tmp_path, workers=2, STRANGLER_LEGACY_URL=legacy_url, STRANGLER_STATS_INTERVAL_S="0.5"
        )
        started.append(data)
        with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as api:
            api.post(
                "/session", json={"username": "admin", "password": plane.admin_password()}
            ).raise_for_status()
            api.put("/upstreams/catalog", json={"url": new_url}).raise_for_status()
            rule = {"name": "catalog", "match": {"path": "/catalog"}}
            api.post("/routes", json={"rule": rule, "reason": "add"}).raise_for_status()
            flip = {"mode": "canary", "weight": 50, "upstream": "catalog", "reason": "canary 50%"}
            flipped = api.post("/routes/catalog/flip", json=flip)
            flipped.raise_for_status()

            def guard_status() -> str:
                [guard] = [g for g in api.get("/guards").json()["guards"] if g["route"] == "catalog"]
                return guard["status"]

            traffic = Traffic(data_url)
            traffic.start()
            try:
                _wait_for(lambda: guard_status() == "ok", 30, "the guard to judge a healthy window")
                assert api.get("/versions/active").json()["version"] == flipped.json()["version"]
                httpx2.post(new_url + "/__control/fail").raise_for_status()
                _wait_for(
                    lambda: api.get("/routes/catalog").json()["rule"]["action"]["mode"] == "legacy",
                    45,
                    "the guard to roll the route back",
                )
            finally:
                traffic.stop()
            assert len(traffic.statuses) > 100  # the data plane served real traffic throughout
            [entry] = api.get("/audit", params={"actor": "guard"}).json()["entries"]
            assert (entry["action"], entry["target"], entry["outcome"]) == ("rollback", "catalog", "ok")
            assert entry["version_before"] == flipped.json()["version"]
            windows = entry["evidence"]["windows"]
            assert len(windows) == 5
            assert all(w["reasons"] for w in windows)  # five consecutive failing windows
            # The streak ends on the injected failure. Its first windows may straddle the moment the
            # upstream started failing, or (on a loaded machine) fail on latency just before it.
            assert all(
                w["new"]["error_rate"] > 0.5 and any("5xx rate" in reason for reason in w["reasons"])
                for w in windows[-2:]
            ), windows
            assert all(w["legacy"]["error_rate"] == 0 for w in windows)
            assert guard_status() == "tripped"
    finally:
        for process in reversed(started):
            process.stop()
