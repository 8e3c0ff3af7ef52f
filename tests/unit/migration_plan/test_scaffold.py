"""The scaffold's text: lint-clean for any name (imports sort before or after the kit), refusals named."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from migration_plan.project.scaffold_service import ScaffoldError, scaffold_service
from tests.integration.supervisor.harness import VENV_BIN
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", ["billing", "zoo_keeper", "inventory_ab"])
def test_the_files_are_lint_clean_whatever_the_name(tmp_path: Path, name: str) -> None:
    (tmp_path / "new_services" / "kit").mkdir(parents=True)
    (tmp_path / "new_services" / "__init__.py").write_text("")
    shutil.copytree(ROOT / "acl", tmp_path / "acl")  # a checkout's: what ruff sorts as first-party
    made = scaffold_service(tmp_path, name, f"/api/{name}/items", 8204)
    assert (made.service_dir / "adapters" / "migrations" / "script.py.mako").is_file()
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    paths = [str(made.service_dir), str(made.test_file.parent)]
    for command in (["check", *paths], ["format", "--check", *paths]):
        done = subprocess.run(
            [str(VENV_BIN / "ruff"), *command], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_bad_names_routes_and_existing_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "new_services" / "kit").mkdir(parents=True)
    with pytest.raises(ScaffoldError, match="a service name is 1 to 12 lowercase"):
        scaffold_service(tmp_path, "Things", "/api/things", 8203)
    with pytest.raises(ScaffoldError, match="a service name is 1 to 12 lowercase"):
        scaffold_service(tmp_path, "much_too_long_", "/api/things", 8203)
    with pytest.raises(ScaffoldError, match="no trailing slash"):
        scaffold_service(tmp_path, "things", "/api/things/", 8203)
    scaffold_service(tmp_path, "things", "/api/things", 8203)
    with pytest.raises(ScaffoldError, match="exists: pass --force"):
        scaffold_service(tmp_path, "things", "/api/things", 8203)
    scaffold_service(tmp_path, "things", "/api/things", 8203, force=True)
