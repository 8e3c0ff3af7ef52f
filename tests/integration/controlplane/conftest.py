"""A real control plane (``python -m strangler_proxy.controlplane``) on a free port, in its own home."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import RunningProcess, start_process


@dataclass
class ControlPlane:
    url: str
    port: int
    home: Path
    process: RunningProcess

    @property
    def env(self) -> dict[str, str]:
        return {"STRANGLER_HOME": str(self.home), "STRANGLER_ADMIN_URL": self.url}

    def admin_password(self) -> str:
        return (self.home / "secrets" / "admin_password").read_text().strip()


def start_control_plane(home: Path, log_dir: Path, **env: str) -> ControlPlane:
    port = free_port()
    process = start_process(
        [sys.executable, "-m", "strangler_proxy.controlplane"],
        log_path=log_dir / f"controlplane-{port}.log",
        env={
            "STRANGLER_HOME": str(home),
            "STRANGLER_ADMIN_PORT": str(port),
            "STRANGLER_ADMIN_HOST": "127.0.0.1",
            **env,
        },
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )
    return ControlPlane(f"http://127.0.0.1:{port}", port, home, process)


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    root = tmp_path_factory.mktemp("controlplane")
    plane = start_control_plane(root / "home", root, STRANGLER_LEGACY_URL=f"http://127.0.0.1:{free_port()}")
    try:
        yield plane
    finally:
        plane.process.stop()


def start_upstream(name: str, log_dir: Path) -> tuple[str, RunningProcess]:
    port = free_port()
    process = start_process(
        [
            sys.executable,
            "-m",
            "tests.integration.controlplane.upstream",
            "--port",
            str(port),
            "--name",
            name,
        ],
        log_path=log_dir / f"upstream-{name}-{port}.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    return f"http://127.0.0.1:{port}", process


def start_data_plane(home: Path, log_dir: Path, *, workers: int, **env: str) -> tuple[str, RunningProcess]:
    port, internal_port = free_port(), free_port()
    process = start_process(
        [sys.executable, "-m", "strangler_proxy.dataplane"],
        log_path=log_dir / f"dataplane-{port}.log",
        env={
            "STRANGLER_HOME": str(home),
            "STRANGLER_DATAPLANE_PORT": str(port),
            "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
            "STRANGLER_DATAPLANE_WORKERS": str(workers),
            "STRANGLER_ACCESS_LOG": "false",
            "STRANGLER_DEBUG_HEADERS": "true",
            **env,
        },
        ready_url=f"http://127.0.0.1:{internal_port}/_strangler/readyz",
    )
    return f"http://127.0.0.1:{port}", process
