"""docs/adopt.md's step 1: the wheel built from the checkout holds every runtime part, declares the
Django range strangler_django supports (4.2 and 5.2), and works in a fresh virtualenv with no checkout
in sight: ``strangler --version`` and ``strangler init --help``.

The fresh virtualenv (tests/e2e/conftest.py, shared with the walkthrough) gets the toolkit's locked
dependencies (requirements.lock, hashes checked, from pip's cache or the package index) and then the
wheel alone (``--no-deps``)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.processes import ROOT
from tests.support.wheel import RUNTIME_PACKAGES, InstalledToolkit, run

pytestmark = [pytest.mark.integration]


def _run(argv: list[str], cwd: Path, toolkit: InstalledToolkit) -> str:
    return run(argv, cwd, env=toolkit.environ())


def _pin(lock: Path, name: str) -> str:
    found = re.search(rf"^{name}==(\S+)", lock.read_text(), flags=re.M)
    assert found, f"{lock.name} pins no {name}"
    return found.group(1)


@pytest.fixture
def wheel(installed_toolkit: InstalledToolkit) -> Path:
    return installed_toolkit.wheel


def test_the_wheel_holds_every_runtime_part_and_allows_django_4_2(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            Requirement(line.removeprefix("Requires-Dist: "))
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist: ")
        ]
    for package in RUNTIME_PACKAGES:
        assert f"{package}/__init__.py" in names, f"the wheel lacks {package}"
    assert "strangler_django/migrations/0001_initial.py" in names
    [django] = [r for r in requires if r.name.lower() == "django" and r.marker is None]
    oldest = _pin(ROOT / "requirements-django42.lock", "django")
    toolkit = _pin(ROOT / "requirements.lock", "django")
    assert django.specifier.contains(oldest), f"{django}: a monolith on Django {oldest} cannot install it"
    assert django.specifier.contains(toolkit), f"{django}: the toolkit's own Django {toolkit} is refused"


def test_the_wheel_runs_from_a_fresh_virtualenv(installed_toolkit: InstalledToolkit, tmp_path: Path) -> None:
    elsewhere = tmp_path / "project"  # no checkout here, nor above
    elsewhere.mkdir()
    strangler = str(installed_toolkit.bin / "strangler")
    assert _run([strangler, "--version"], elsewhere, installed_toolkit).strip().endswith(_project_version())
    helped = _run([strangler, "init", "--help"], elsewhere, installed_toolkit)
    assert "manage.py" in helped and "--force" in helped, helped
    installed_toolkit.assert_not_the_checkout(elsewhere)


def _project_version() -> str:
    found = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    assert found
    return found.group(1)
