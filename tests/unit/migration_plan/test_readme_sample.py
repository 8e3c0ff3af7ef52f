"""README's sample of what `make run` prints names the processes and addresses the stack really has."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from migration_plan.toolbox.supervisor.render import urls_table
from migration_plan.toolbox.supervisor.settings import StackSettings
from migration_plan.toolbox.supervisor.stack import build_stack
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit


def test_readme_sample_output_matches_the_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("STRANGLER_", "LEGACYSHOP_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path / "home"))
    stack = build_stack(StackSettings(), root=ROOT, environ={})
    readme = (ROOT / "README.md").read_text()
    sample = readme[readme.index("```text\nsupervisor") : readme.index("Ctrl-C stops everything")]
    # a process without a health check (a service's worker) is shown started, the others healthy
    up = re.findall(r"^supervisor +\| ([\w-]+): (healthy after|started \(pid)", sample, re.MULTILINE)
    expected = [(spec.name, "healthy after" if spec.health_urls else "started (pid") for spec in stack.specs]
    assert up == expected
    console = Console(width=200, record=True)
    console.print(urls_table(stack.specs))
    for line in console.export_text().splitlines():
        if "http://" in line:
            assert line.rstrip() in sample, line
