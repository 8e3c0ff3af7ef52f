"""Point 5: the soak, 60 seconds in CI (``make soak`` runs ten minutes): 70% of measured capacity through
a real data plane with a route flip every 5 s and a worker restart, one request in ten a write (never
retried), 0 failed requests, memory growth under 10%, no file-descriptor leak."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = [pytest.mark.load, pytest.mark.integration, pytest.mark.timeout(280)]

LINE = re.compile(
    r"^soak: seconds=(?P<seconds>\d+) requests=(?P<requests>\d+) writes=(?P<writes>\d+) "
    r"failed_requests=(?P<failed>\d+) "
    r"rss_growth=(?P<rss>-?[0-9.]+) fd_growth=(?P<fds>-?\d+)$"
)


def test_sixty_second_soak_under_flips_and_restarts() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "migration_plan.toolbox.soak", "--seconds", "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=260,
        start_new_session=True,
    )
    output = completed.stdout + completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert lines, output
    match = LINE.match(lines[-1])
    assert match, output
    details = dict(re.findall(r"(\w+)=(\d+)", completed.stdout))
    assert int(details["flips"]) >= 10, output
    assert int(details["restarts"]) >= 1, output
    assert int(match["seconds"]) >= 60
    assert int(match["requests"]) > 60 * 50, "the soak must carry real traffic"
    assert int(match["writes"]) > 0, "the soak must send writes"
    assert int(match["failed"]) == 0, output
    assert int(details["failed_writes"]) == 0, output
    assert float(match["rss"]) < 0.10, output
    assert int(match["fds"]) <= 16, output
    assert completed.returncode == 0, output
