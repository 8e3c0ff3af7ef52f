"""Run locust headless as a bounded subprocess and summarise its CSV: requests, errors, p50/p95/p99.

    summary = run_load(LoadOptions(host="http://127.0.0.1:8000", users=10, run_time_s=30,
                                   max_error_rate=0.01, max_p95_ms=500))
    summary.passed, summary.problems, summary.json_path

Files, under ``reports_dir``: ``<prefix>_stats.csv``, ``_stats_history.csv``, ``_failures.csv``,
``_exceptions.csv`` (locust's own) and ``<prefix>_summary.json`` (ours).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from migration_plan.toolbox.load.summary import LoadSummary, read_failures_csv, read_stats_csv

__all__ = ["LoadError", "LoadOptions", "Progress", "locust_command", "resolve_locustfile", "run_load"]

MAX_USERS = 1000
PROJECT_ROOT = Path(__file__).resolve().parents[3]
MAX_RUN_TIME_S = 3600


class LoadError(Exception):
    """Locust could not run, or ended without figures."""


@dataclass(frozen=True)
class LoadOptions:
    host: str
    locustfile: Path = Path("loadtests/shop.py")
    users: int = 10
    spawn_rate: float = 5.0
    run_time_s: int = 30
    reports_dir: Path = Path("reports/load")
    csv_prefix: str | None = None
    """File name prefix inside ``reports_dir``; default ``load-<UTC timestamp>``."""
    max_error_rate: float | None = None
    max_p95_ms: float | None = None
    tags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.users <= MAX_USERS:
            raise LoadError(f"users must be 1..{MAX_USERS}, got {self.users}")
        if not 1 <= self.run_time_s <= MAX_RUN_TIME_S:
            raise LoadError(f"run time must be 1..{MAX_RUN_TIME_S} s, got {self.run_time_s}")
        if self.spawn_rate <= 0:
            raise LoadError("spawn rate must be positive")
        if not self.host.startswith(("http://", "https://")):
            raise LoadError(f"host must be an http(s) URL, got {self.host!r}")


@dataclass(frozen=True)
class Progress:
    elapsed_s: float
    run_time_s: int
    requests: int
    failures: int


def resolve_locustfile(locustfile: Path, cwd: Path | None = None) -> Path:
    """``locustfile`` as given (relative to ``cwd``), else relative to this checkout (``loadtests/...``)."""
    candidates = [(cwd or Path.cwd()) / locustfile]
    if not locustfile.is_absolute():
        candidates.append(PROJECT_ROOT / locustfile)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise LoadError(f"locustfile {locustfile} does not exist (looked in {', '.join(map(str, candidates))})")


def locust_command(options: LoadOptions, csv_base: Path, locustfile: Path | None = None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile or options.locustfile),
        "--headless",
        "--host",
        options.host,
        "--users",
        str(options.users),
        "--spawn-rate",
        f"{options.spawn_rate:g}",
        "--run-time",
        f"{options.run_time_s}s",
        "--stop-timeout",
        "5",
        "--csv",
        str(csv_base),
        "--csv-full-history",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if options.tags:
        command += ["--tags", *options.tags]
    return command


def run_load(options: LoadOptions, *, on_progress: Callable[[Progress], None] | None = None) -> LoadSummary:
    """Run locust until its run time is over, then read its CSV and check the thresholds."""
    locustfile = resolve_locustfile(options.locustfile, options.cwd)
    options.reports_dir.mkdir(parents=True, exist_ok=True)
    prefix = options.csv_prefix or f"load-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    csv_base = options.reports_dir.resolve() / prefix
    stats_csv = csv_base.with_name(f"{prefix}_stats.csv")
    stats_csv.unlink(missing_ok=True)
    log_path = csv_base.with_name(f"{prefix}_locust.log")
    command = locust_command(options, csv_base, locustfile)
    started = time.monotonic()
    deadline = started + options.run_time_s + 60
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=options.cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **options.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise LoadError(f"locust still running {options.run_time_s + 60:.0f} s after start")
                if on_progress is not None:
                    on_progress(_progress(stats_csv, time.monotonic() - started, options.run_time_s))
                time.sleep(0.5)
        finally:
            _stop(process)
    if on_progress is not None:
        on_progress(_progress(stats_csv, time.monotonic() - started, options.run_time_s))
    if not stats_csv.is_file():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise LoadError(
            f"locust exited {process.returncode} without figures: {' | '.join(tail) or 'no output'}"
        )
    # Locust exits 1 when any request failed; only other codes mean it could not run properly.
    if process.returncode not in (0, 1):
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise LoadError(f"locust exited {process.returncode}: {' | '.join(tail)}")
    aggregate, endpoints = read_stats_csv(stats_csv)
    summary = LoadSummary.build(
        host=options.host,
        locustfile=str(options.locustfile),
        users=options.users,
        run_time_s=options.run_time_s,
        aggregate=aggregate,
        endpoints=endpoints,
        failure_reasons=read_failures_csv(csv_base.with_name(f"{prefix}_failures.csv")),
        max_error_rate=options.max_error_rate,
        max_p95_ms=options.max_p95_ms,
        csv_prefix=str(csv_base),
        json_path=str(csv_base.with_name(f"{prefix}_summary.json")),
    )
    Path(summary.json_path).write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    return summary


def _progress(stats_csv: Path, elapsed: float, run_time_s: int) -> Progress:
    requests = failures = 0
    if stats_csv.is_file():
        try:
            aggregate, _ = read_stats_csv(stats_csv)
        except (OSError, ValueError, KeyError):
            aggregate = None  # locust is rewriting the file this very moment
        if aggregate is not None:
            requests, failures = aggregate.requests, aggregate.failures
    return Progress(min(elapsed, float(run_time_s)), run_time_s, requests, failures)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass
