"""strangler_django's own suite (tests/django_app) runs in its own Django project, in a subprocess.

That project is unlike LegacyShop (custom user model, cache sessions, class-based views, a DRF router);
the main suite's process has Django configured for LegacyShop, so the suite cannot run in it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.unit


def test_the_django_app_suite_passes():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "tests/django_app/pytest.ini", "tests/django_app", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
