"""Gate figures from outside the admin API: a locust run, and ``python -m acl.sync lag --json``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from migration_plan.plan.gates import GateSourceError
from migration_plan.plan.model import LoadGate
from migration_plan.toolbox.load import LoadError, LoadOptions, run_load

__all__ = ["DEFAULT_LAG_COMMAND", "load_gate_runner", "sync_lag_from_command"]

DEFAULT_LAG_COMMAND = (sys.executable, "-m", "acl.sync", "lag", "--json")
DEMO = Path("loadtests/shop.py")


def sync_lag_from_command(
    command: Sequence[str] = DEFAULT_LAG_COMMAND, *, cwd: Path | None = None, timeout: float = 30.0
) -> Callable[[], Mapping[str, Mapping[str, Any]]]:
    """A provider running ``command`` and reading its JSON: ``{direction: {lag_ms, backlog, ...}}``."""

    def measure() -> Mapping[str, Mapping[str, Any]]:
        try:
            done = subprocess.run(
                list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GateSourceError(f"{' '.join(command)}: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise GateSourceError(f"{' '.join(command)} exited {done.returncode}: {tail[0]}")
        try:
            data = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise GateSourceError(f"{' '.join(command)} printed no JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise GateSourceError(f"{' '.join(command)}: expected a JSON object per direction")
        return data

    return measure


def load_gate_runner(
    host: str, reports_dir: Path, locustfile: Callable[[], Path] | None = None
) -> Callable[[LoadGate], tuple[bool, str]]:
    """A provider running the gate's locust run headless against ``host`` (the front door): the gate's
    ``locustfile``, else the one ``locustfile()`` names (the project's), else the demo's."""

    def run(gate: LoadGate) -> tuple[bool, str]:
        try:
            path = Path(gate.locustfile) if gate.locustfile else locustfile() if locustfile else DEMO
        except LoadError as exc:
            raise GateSourceError(str(exc)) from exc
        options = LoadOptions(
            host=host,
            locustfile=path,
            users=gate.users,
            spawn_rate=gate.spawn_rate,
            run_time_s=gate.run_time_s,
            reports_dir=reports_dir,
            max_error_rate=gate.max_error_rate,
            max_p95_ms=gate.max_p95_ms,
            tags=gate.tags,
        )
        try:
            summary = run_load(options)
        except LoadError as exc:
            raise GateSourceError(str(exc)) from exc
        detail = (
            f"{summary.requests} requests, errors {summary.error_rate:.2%}, p95 {summary.p95_ms:g} ms "
            f"(report {summary.json_path})"
        )
        if summary.problems:
            detail = "; ".join(summary.problems) + f" — {detail}"
        return summary.passed, detail

    return run
