"""`strangler new-service NAME --route ROUTE`: a service on the kit that passes its own generated test and
the linters at once, registered in strangler.toml and in the import contracts, its route left on legacy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migration_plan.project import load_project
from tests.integration.supervisor.harness import VENV_BIN
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The parts of a checkout a new service is written into and built on (kit, acl, project files)."""
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "new_services" / "kit", root / "new_services" / "kit")
    shutil.copytree(ROOT / "acl", root / "acl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "new_services" / "__init__.py", root / "new_services" / "__init__.py")
    for name in ("strangler.toml", ".importlinter", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    return root


def _run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=240, check=False)


def test_a_scaffolded_service_passes_its_own_test_and_lint(checkout: Path) -> None:
    name = "widgets"
    done = _run(checkout, str(VENV_BIN / "strangler"), "new-service", name, "--route", f"/api/{name}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the route stays on legacy" in done.stdout
    parts = ("domain", "service_layer", "adapters/migrations/versions", "entrypoints", "anticorruption")
    for part in parts:
        assert (checkout / "new_services" / name / part).is_dir()

    service = next(s for s in load_project(checkout / "strangler.toml").services if s.name == name)
    assert (service.path, service.port) == (f"new_services/{name}", 8203)
    assert f"[importlinter:contract:{name}-layers]" in (checkout / ".importlinter").read_text()

    tested = _run(
        checkout, sys.executable, "-m", "pytest", f"tests/unit/{name}", "-q", "-p", "no:cacheprovider"
    )
    # the service's own cases, and the contract's against the service (its monolith half needs a URL)
    assert tested.returncode == 0 and "7 passed, 2 skipped" in tested.stdout, tested.stdout + tested.stderr
    assert "WIDGETS_LEGACY_URL is not set" in tested.stdout
    for generated in (
        "entrypoints/auth.py",
        "anticorruption/translator.py",
        "anticorruption/legacy_client.py",
        "adapters/migrations/versions/0002_widgets_service_outbox.py",
        "adapters/migrations/versions/0003_widgets_service_inbox.py",
        "adapters/appliers.py",
    ):
        assert (checkout / "new_services" / name / generated).is_file(), generated
    assert (checkout / "tests" / "unit" / name / f"test_{name}_contract.py").is_file()
    paths = [f"new_services/{name}", f"tests/unit/{name}"]
    for linter in (["ruff", "check", *paths], ["ruff", "format", "--check", *paths], ["mypy", *paths]):
        linted = _run(checkout, str(VENV_BIN / linter[0]), *linter[1:])
        assert linted.returncode == 0, linted.stdout + linted.stderr

    again = _run(checkout, str(VENV_BIN / "strangler"), "new-service", name, "--route", f"/api/{name}")
    assert again.returncode == 1 and "exists: pass --force" in again.stderr
