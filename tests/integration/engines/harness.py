"""The HAProxy engine as a real process for the tests: the agent, which runs HAProxy itself."""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.dataplane.harness import Store
from tests.support.net import free_port
from tests.support.processes import RunningProcess, start_process

__all__ = ["EngineProcess", "haproxy_binary", "require_haproxy", "start_engine"]


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


def require_haproxy() -> str:
    """HAProxy's path; skip when it is not installed (``make test`` installs it), fail under CI=true."""
    found = haproxy_binary()
    if found is None:
        message = "HAProxy is not installed (scripts/ensure-test-tools installs Debian's haproxy)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI requires it", pytrace=False)
        pytest.skip(message)
    return found


@dataclass
class EngineProcess:
    port: int
    status_port: int
    home: Path
    process: RunningProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self) -> dict:
        url = f"http://127.0.0.1:{self.status_port}/_strangler/version"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())

    @property
    def haproxy_config(self) -> Path:
        return self.home / "run" / "haproxy" / "haproxy.cfg"


def start_engine(
    home: Path, store: Store, legacy_url: str, *, extra_env: dict[str, str] | None = None
) -> EngineProcess:
    """The engine on free ports, one HAProxy thread, debug headers on, registered in ``store``."""
    require_haproxy()
    port, status_port = free_port(), free_port()
    env = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_STORE_URL": store.url,
        "STRANGLER_LEGACY_URL": legacy_url,
        "STRANGLER_DATAPLANE_PORT": str(port),
        "STRANGLER_ENGINE_STATUS_PORT": str(status_port),
        "STRANGLER_ENGINE_THREADS": "1",
        "STRANGLER_DEBUG_HEADERS": "true",
        "STRANGLER_STATS_INTERVAL_S": "0.2",
        **(extra_env or {}),
    }
    process = start_process(
        [sys.executable, "-m", "strangler_proxy.engines.haproxy"],
        log_path=home / "logs" / "engine.log",
        env=env,
        ready_url=f"http://127.0.0.1:{status_port}/_strangler/healthz",
    )
    try:
        store.wait_workers(1)
    except TimeoutError:
        process.stop()
        raise
    return EngineProcess(port, status_port, home, process)
