"""The toolkit installed from its wheel, once per session, for the tests that follow docs/adopt.md."""

from __future__ import annotations

import pytest

from tests.support.wheel import InstalledToolkit, build_wheel, install_toolkit

# The second Django project's own needs besides the toolkit: its DRF viewset (pytest, for the scaffolded
# service's tests, is in requirements.lock)
PROJECT_PACKAGES = ("djangorestframework",)


@pytest.fixture(scope="session")
def installed_toolkit(tmp_path_factory: pytest.TempPathFactory) -> InstalledToolkit:
    """docs/adopt.md's step 1: ``make wheel``'s wheel, pip-installed into the project's own virtualenv."""
    wheel = build_wheel(tmp_path_factory.mktemp("dist"))
    venv = tmp_path_factory.mktemp("project-venv") / "venv"
    return install_toolkit(wheel, venv, extra=PROJECT_PACKAGES)
