"""A whole stack for browser tests, every part a real process on free loopback ports in a fresh
STRANGLER_HOME: a legacy upstream and a new upstream (small aiohttp servers), the control plane and
the data plane; and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import RunningProcess, start_process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEW_UPSTREAM = "catalog"


@dataclass(frozen=True)
class Stack:
    home: Path
    admin_url: str
    dataplane_url: str
    admin_password: str
    new_upstream: str
    processes: dict[str, RunningProcess]

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{p.log()[-4000:]}" for name, p in self.processes.items())


def admin_api(stack: Stack) -> urllib.request.OpenerDirector:
    """A urllib opener logged in to the admin API as the first admin (session cookie)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = json.dumps({"username": "admin", "password": stack.admin_password}).encode()
    request = urllib.request.Request(
        f"{stack.admin_url}/api/v1/session",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with opener.open(request, timeout=10) as response:
        assert response.status == 200
    return opener


def api_call(opener: urllib.request.OpenerDirector, method: str, url: str, payload: object) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method=method, headers={"Content-Type": "application/json"}
    )
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; run scripts/ensure-test-tools (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def stack_env() -> dict[str, str]:
    """More environment for the control plane and the data plane (a test parametrizes it)."""
    return {}


@pytest.fixture
def stack(tmp_path: Path, artifacts_dir: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    home = tmp_path / "home"
    logs = tmp_path / "logs"
    legacy_port, new_port, admin_port, dataplane_port, internal_port = (free_port() for _ in range(5))
    legacy_url = f"http://127.0.0.1:{legacy_port}"
    common = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_LEGACY_URL": legacy_url,
        "STRANGLER_ADMIN_PORT": str(admin_port),
        "STRANGLER_DATAPLANE_PORT": str(dataplane_port),
        "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
        # The new upstream's writes come back to the monolith through the "reverse" relay (as a
        # project file's [sync] reverse says); its rows are what the handover waits for.
        "STRANGLER_SYNC_REVERSE_DIRECTIONS": f"{NEW_UPSTREAM}=reverse",
        **stack_env,
    }
    processes: dict[str, RunningProcess] = {}
    upstream = [sys.executable, "-m", "tests.browser.upstream_app"]
    try:
        processes["legacy"] = start_process(
            [*upstream, "--port", str(legacy_port), "--name", "legacy", "--delay-ms", "3"],
            log_path=logs / "legacy.log",
            ready_url=f"{legacy_url}/healthz",
        )
        processes["new"] = start_process(
            [*upstream, "--port", str(new_port), "--name", "new", "--delay-ms", "8"],
            log_path=logs / "new.log",
            ready_url=f"http://127.0.0.1:{new_port}/healthz",
        )
        admin_url = f"http://127.0.0.1:{admin_port}"
        processes["controlplane"] = start_process(
            [sys.executable, "-m", "strangler_proxy.controlplane"],
            env=common,
            log_path=logs / "controlplane.log",
            ready_url=f"{admin_url}/readyz",
        )
        dataplane_url = f"http://127.0.0.1:{dataplane_port}"
        processes["dataplane"] = start_process(
            [sys.executable, "-m", "strangler_proxy.dataplane"],
            env={**common, "STRANGLER_DATAPLANE_WORKERS": "1", "STRANGLER_ACCESS_LOG": "false"},
            log_path=logs / "dataplane.log",
            ready_url=f"http://127.0.0.1:{internal_port}/_strangler/readyz",
        )
        stack = Stack(
            home=home,
            admin_url=admin_url,
            dataplane_url=dataplane_url,
            admin_password=(home / "secrets" / "admin_password").read_text().strip(),
            new_upstream=NEW_UPSTREAM,
            processes=processes,
        )
        api_call(
            admin_api(stack),
            "PUT",
            f"{admin_url}/api/v1/upstreams/{NEW_UPSTREAM}",
            {"url": f"http://127.0.0.1:{new_port}"},
        )
        yield stack
    finally:
        for process in reversed(processes.values()):
            process.stop()
        if logs.exists():
            shutil.copytree(logs, artifacts_dir / "logs", dirs_exist_ok=True)
