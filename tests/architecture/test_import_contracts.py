"""The boundaries of DESIGN.md hold: import-linter's contracts are all kept."""

import subprocess

import pytest

from tests.support.processes import ROOT, VENV_BIN

pytestmark = pytest.mark.unit


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
