"""Real child processes for integration tests, each in its own process group so nothing outlives a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.net import wait_for_http

__all__ = ["ROOT", "VENV_BIN", "RunningProcess", "run_manage", "start_process"]

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass
class RunningProcess:
    argv: Sequence[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole group, SIGKILL it after ``timeout``."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)


def start_process(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    ready_url: str | None = None,
    ready_timeout: float = 60.0,
) -> RunningProcess:
    """Start ``argv`` in a new session, logging to ``log_path``; wait for ``ready_url`` when given."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env["PATH"] = f"{VENV_BIN}{os.pathsep}{full_env.get('PATH', '')}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(
            list(argv), cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    process = RunningProcess(argv=argv, popen=popen, log_path=log_path, env=dict(env or {}))
    if ready_url is not None:
        try:
            wait_for_http(ready_url, timeout=ready_timeout, alive=process.alive)
        except Exception as exc:
            process.stop()
            command = " ".join(argv)
            raise RuntimeError(
                f"{command} did not become ready: {exc}\n--- log ---\n{process.log()}"
            ) from exc
    return process


def run_manage(args: Sequence[str], env: Mapping[str, str], *, timeout: float = 120) -> None:
    """``python -m legacy_monolith.manage ARGS`` with ``env`` added; fails the test with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "legacy_monolith.manage", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"manage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
