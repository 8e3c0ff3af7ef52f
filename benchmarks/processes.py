"""Child processes for the benchmarks: each in its own process group, waited for by readiness checks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = [
    "Child",
    "cpu_split",
    "free_port",
    "peak_rss_mb",
    "run_loadgen",
    "wait_http",
    "wait_port",
    "wait_version",
]

ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pin(cpus: set[int] | None):  # type: ignore[no-untyped-def]
    """A preexec function pinning the child (and everything it forks) to ``cpus``."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def cpu_split() -> tuple[set[int] | None, set[int] | None]:
    """(proxy cpus, load cpus): the proxy under test on one core, backend and load generator on the
    others, so they do not take turns on the proxy's core. None when there is a single core."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return {available[0]}, set(available[1:])


class Child:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str] | None = None,
        cpus: set[int] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_pin(cpus),
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.popen.args} exited:\n{self.log.read_text(errors='replace')[-3000:]}")


def _poll(ready: Callable[[], T | None], child: Child, *, timeout: float, poll_s: float, what: str) -> T:
    """Call ``ready`` every ``poll_s`` until it returns a value (an OSError counts as not yet), while
    ``child`` is alive; TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        child.check_alive()
        try:
            value = ready()
        except OSError:
            value = None
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(poll_s)


def wait_port(port: int, child: Child, timeout: float = 30.0) -> None:
    def listening() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True

    _poll(listening, child, timeout=timeout, poll_s=0.05, what=f"nothing listens on port {port}")


def wait_http(url: str, child: Child, timeout: float = 30.0) -> bytes:
    def body() -> bytes:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read()

    return _poll(body, child, timeout=timeout, poll_s=0.05, what=f"{url} not ready")


def wait_version(
    port: int,
    version: int,
    child: Child,
    *,
    timeout: float = 60.0,
    poll_s: float = 0.05,
    request_s: float = 2.0,
    public_port: int | None = None,
) -> None:
    """Wait until the data plane whose internal port is ``port`` serves route-table ``version``
    (``poll_s`` between asks; a slow child, such as one under valgrind, needs longer ``timeout`` and
    ``request_s``). ``public_port``: ask there when nothing listens on ``port`` (a checkout from before
    the internal port existed served its version on the public one)."""
    url = f"http://127.0.0.1:{port}/_strangler/version"
    fallback = f"http://127.0.0.1:{public_port}/_strangler/version" if public_port else None

    def applied() -> bool | None:
        try:
            response = urllib.request.urlopen(url, timeout=request_s)
        except urllib.error.URLError as exc:
            if fallback is None or not isinstance(exc.reason, ConnectionRefusedError):
                raise
            response = urllib.request.urlopen(fallback, timeout=request_s)
        with response:
            return True if json.loads(response.read())["version"] == version else None

    what = f"the data plane on port {port} never applied version {version}"
    _poll(applied, child, timeout=timeout, poll_s=poll_s, what=what)


def run_loadgen(
    port: int,
    path: str,
    *,
    connections: int,
    duration: float = 0.0,
    requests: int = 0,
    cpus: set[int] | None = None,
) -> dict:  # type: ignore[type-arg]
    argv = [sys.executable, "-m", "benchmarks.loadgen", "--port", str(port), "--path", path]
    argv += ["--connections", str(connections)]
    argv += ["--duration", str(duration)] if duration else ["--requests", str(requests)]
    result = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, preexec_fn=_pin(cpus)
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (from /proc/<pid>/task/*/children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, cpus: set[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(pid, cpus)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")
