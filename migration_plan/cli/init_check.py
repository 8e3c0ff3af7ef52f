"""`strangler init`'s check: the monolith as strangler.toml runs it (setup steps first, e.g. migrate),
behind a control plane and a data plane of a throwaway home, and one request to its health path
through the data plane's front door."""

from __future__ import annotations

import asyncio
import io
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from migration_plan.project import parse_project

__all__ = ["CheckResult", "check_through_dataplane"]

CHECKED = ("legacy", "controlplane", "dataplane")


@dataclass(frozen=True)
class CheckResult:
    """``problem`` is None when the health path answered 2xx through the data plane; ``log`` is what the
    processes printed (shown when it did not)."""

    problem: str | None
    status: int | None
    log: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError as exc:
        return None, str(exc)


async def _run(directory: Path, text: str, home: Path, timeout: float) -> CheckResult:
    from migration_plan.toolbox.supervisor.output import LogSink
    from migration_plan.toolbox.supervisor.settings import StackSettings
    from migration_plan.toolbox.supervisor.stack import build_stack
    from migration_plan.toolbox.supervisor.supervisor import Supervisor

    project = parse_project(text)
    if project.legacy.command is None:
        return CheckResult(f"[legacy] has no command: {project.legacy.url} is not run here", None, "")
    settings = StackSettings(
        STRANGLER_HOME=home,
        STRANGLER_LEGACY_PORT=project.legacy.port,
        STRANGLER_LEGACY_URL="",
        STRANGLER_STORE_URL="",
        STRANGLER_ADMIN_PORT=_free_port(),
        STRANGLER_DATAPLANE_PORT=_free_port(),
        STRANGLER_DATAPLANE_INTERNAL_PORT=_free_port(),
        STRANGLER_DATAPLANE_WORKERS=1,
        STRANGLER_ENGINE="dataplane",
        STRANGLER_STARTUP_TIMEOUT=timeout,
    )
    stack = build_stack(settings, project=project, project_dir=directory).only(list(CHECKED))
    output = io.StringIO()
    supervisor = Supervisor(stack.specs, home=home, sink=LogSink(output, CHECKED))
    stop, ready = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop, on_ready=ready.set))
    waiting = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            return CheckResult("the stack did not start (see its output below)", None, output.getvalue())
        health = project.legacy.health
        path = health if health.startswith("/") else urllib.parse.urlsplit(health).path or "/"
        url = f"http://127.0.0.1:{settings.dataplane_port}{path}"
        status, error = await asyncio.to_thread(_get, url)
        if status is None or not 200 <= status < 300:
            why = error or f"status {status}"
            return CheckResult(f"GET {url} through the data plane: {why}", status, output.getvalue())
        return CheckResult(None, status, output.getvalue())
    finally:
        waiting.cancel()
        stop.set()
        await running


def check_through_dataplane(directory: Path, text: str, timeout: float) -> CheckResult:
    """Run the check in a throwaway home (its store, secrets and logs are removed after)."""
    with tempfile.TemporaryDirectory(prefix="strangler-init-") as home:
        return asyncio.run(_run(directory, text, Path(home), timeout))
