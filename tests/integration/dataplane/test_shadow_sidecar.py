"""The shadow process lives and dies with its data plane: a data plane killed outright (no chance to
stop its children) leaves no shadow process behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from strangler_proxy.routes import LEGACY, Upstream
from tests.integration.dataplane.harness import Store, start_dataplane, start_upstream, table

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_a_killed_data_plane_leaves_no_shadow_process(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite3")
    legacy = start_upstream("legacy", tmp_path)
    try:
        store.publish(table([Upstream(name=LEGACY, url=legacy.url)]))
        dataplane = start_dataplane(tmp_path / "home", store, legacy.url)
        try:
            (shadow,) = _children(dataplane.process.pid)
            assert "strangler_proxy.dataplane.shadow" in Path(f"/proc/{shadow}/cmdline").read_text()
            os.kill(dataplane.process.pid, signal.SIGKILL)
            dataplane.process.popen.wait(timeout=10)
            deadline = time.monotonic() + 10
            while _alive(shadow):
                assert time.monotonic() < deadline, f"shadow process {shadow} outlived its data plane"
                time.sleep(0.05)
        finally:
            dataplane.process.stop()
    finally:
        legacy.process.stop()
        store.engine.dispose()
