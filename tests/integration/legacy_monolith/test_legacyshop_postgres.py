"""The monolith's unit suite once more, against PostgreSQL.

The suite configures Django from LEGACYSHOP_TEST_DATABASE_URL (see tests/unit/legacy_monolith/conftest.py),
so this test runs it in a child pytest pointed at a uniquely named PostgreSQL database; pytest-django
creates and drops ``test_<that name>`` beside it. Safe under ``pytest -n 2``: names and ports never collide.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_unit_suite_passes_on_postgresql(postgres_url: str) -> None:
    env = {**os.environ, "LEGACYSHOP_TEST_DATABASE_URL": postgres_url}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/unit/legacy_monolith",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "--create-db",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, (
        f"suite failed on PostgreSQL:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
    assert " passed" in summary
    assert "failed" not in summary and "error" not in summary
