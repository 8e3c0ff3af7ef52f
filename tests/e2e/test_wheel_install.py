"""docs/adopt.md's step 1: the wheel built from the checkout holds every runtime part, declares the
Django range strangler_django supports (4.2 and 5.2), and works in a fresh virtualenv with no checkout
in sight: ``strangler --version`` and ``strangler init --help``.

The fresh virtualenv gets the toolkit's locked dependencies (requirements.lock, hashes checked, from
pip's cache or the package index) and then the wheel alone (``--no-deps --no-index``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.processes import ROOT

pytestmark = [pytest.mark.integration]

RUNTIME_PACKAGES = ("strangler_django", "strangler_proxy", "migration_plan", "acl", "new_services")


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


def _pin(lock: Path, name: str) -> str:
    found = re.search(rf"^{name}==(\S+)", lock.read_text(), flags=re.M)
    assert found, f"{lock.name} pins no {name}"
    return found.group(1)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make wheel``'s command: the locked PyPA build frontend on the locked hatchling (docs/adopt.md)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)], out)
    [built] = out.glob("strangler_fig-*.whl")
    return built


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


def test_the_wheel_runs_from_a_fresh_virtualenv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--quiet"]
    _run([*pip, "install", "--require-hashes", "-r", str(ROOT / "requirements.lock")], tmp_path, timeout=900)
    _run([*pip, "install", "--no-deps", "--no-index", str(wheel)], tmp_path)
    _run([*pip, "check"], tmp_path)
    elsewhere = tmp_path / "project"  # no checkout here, nor above
    elsewhere.mkdir()
    strangler = str(venv / "bin" / "strangler")
    assert _run([strangler, "--version"], elsewhere).strip().endswith(_project_version())
    helped = _run([strangler, "init", "--help"], elsewhere)
    assert "manage.py" in helped and "--force" in helped, helped
    located = _run(
        [str(venv / "bin" / "python"), "-c", "import migration_plan; print(migration_plan.__file__)"],
        elsewhere,
    )
    assert located.startswith(str(venv)), f"the toolkit came from {located}, not the wheel"


def _project_version() -> str:
    found = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    assert found
    return found.group(1)
