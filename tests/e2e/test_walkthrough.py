"""docs/walkthrough.md, executed: every ```sh walkthrough block, in order, against a stack of its own.

The stack is `strangler up` on free ports with a small seed (the drill's own stack settings); the
document's default ports are swapped for the stack's before each block runs. Relative outputs (load
CSVs, drill reports) land in a temporary working folder that links to the repository's loadtests/
and plans/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_plan.project.loader import load_project
from migration_plan.toolbox.drills import OwnStack
from tests.support.processes import ROOT, VENV_BIN

pytestmark = [pytest.mark.integration, pytest.mark.load, pytest.mark.xdist_group("walkthrough")]

WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
BLOCK = re.compile(r"^```sh walkthrough\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DOCUMENT_PORTS = {
    "STRANGLER_DATAPLANE_PORT": 8000,
    "STRANGLER_ADMIN_PORT": 8001,
    "STRANGLER_LEGACY_PORT": 8100,
    "CATALOG_PORT": 8201,
    "ORDERS_PORT": 8202,
}


def walkthrough_blocks(text: str) -> list[str]:
    return [match.group(1) for match in BLOCK.finditer(text)]


def test_the_walkthrough_has_a_block_per_step() -> None:
    blocks = walkthrough_blocks(WALKTHROUGH.read_text())
    assert len(blocks) == 10
    commands = "\n".join(blocks)
    wanted = ("strangler inventory", "strangler plan advance", "routes apply", "canary", "strangler load")
    for command in wanted:
        assert command in commands
    assert "strangler drill errors --attach" in commands and "--stage orders" in commands
    for image in re.findall(r"\]\((img/[^)]+)\)", WALKTHROUGH.read_text()):
        assert (WALKTHROUGH.parent / image).is_file(), f"{image} is not produced by the browser tests"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[OwnStack]:
    own = OwnStack(
        tmp_path / "home",
        ROOT / "strangler.toml",
        "catalog",
        "catalog",
        env={"LEGACYSHOP_SEED_PRODUCTS": "60"},
        prepare=False,
    )
    own.start()
    try:
        yield own
    finally:
        own.stop()


def _environment(own: OwnStack, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRANGLER_", "LEGACYSHOP_", "CATALOG_", "ORDERS_"))
    }
    ports = own.ports
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "STRANGLER_HOME": str(own.home),
            "STRANGLER_ADMIN_PORT": str(ports["STRANGLER_ADMIN_PORT"]),
            "STRANGLER_DATAPLANE_PORT": str(ports["STRANGLER_DATAPLANE_PORT"]),
            "STRANGLER_DATAPLANE_INTERNAL_PORT": str(ports["STRANGLER_DATAPLANE_INTERNAL_PORT"]),
            "LEGACYSHOP_PORT": str(ports["STRANGLER_LEGACY_PORT"]),
            "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{ports['STRANGLER_LEGACY_PORT']}",
            "CATALOG_URL": f"http://127.0.0.1:{ports['CATALOG_PORT']}",
            "STRANGLER_DRILL_REPORTS": str(tmp_path / "drill-reports"),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            # The commands run in a scratch folder, where a user runs them in the checkout: the
            # checkout's strangler.toml names the sync pipelines `strangler sync` hands its workers.
            "STRANGLER_SYNC_PIPELINES": " ".join(load_project(ROOT / "strangler.toml").sync.pipelines),
        }
    )
    return env


def test_every_walkthrough_command_works_in_order(stack: OwnStack, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for folder in ("loadtests", "plans"):
        (work / folder).symlink_to(ROOT / folder)
    env = _environment(stack, tmp_path)
    outputs = []
    for index, block in enumerate(walkthrough_blocks(WALKTHROUGH.read_text()), start=1):
        for name, port in DOCUMENT_PORTS.items():
            block = block.replace(f"127.0.0.1:{port}", f"127.0.0.1:{stack.ports[name]}")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"block {index} failed ({result.returncode}):\n{block}\n---\n{output}"
        outputs.append(output)
    by_step = dict(enumerate(outputs, start=1))
    assert re.search(r'"count":\s*60\b', by_step[1]), "the seeded shop answers through the front door"
    assert "0 differences" in by_step[3]
    assert "catalog-api-reads" in by_step[5] and "shadow" in by_step[5]
    assert re.search(r"drill errors: detect_s=\S+ rollback_s=\S+ failed_requests=0 lost_writes=0", by_step[9])
    assert list((tmp_path / "drill-reports").glob("*-errors.html"))
    assert "orders-api" in by_step[10]
    _assert_plan_agrees_with_the_table(work, env, by_step)


MODE_RANK = {"absent": -1, "legacy": 0, "shadow": 1, "canary": 2, "new": 3}


def _json(work: Path, env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        ["strangler", *args], cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"strangler {' '.join(args)}: {result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def _assert_plan_agrees_with_the_table(work: Path, env: dict[str, str], by_step: dict[int, str]) -> None:
    """After the walkthrough, `plan status` reads the live table back and `plan advance` is usable."""
    routes = {r["route"]: r for r in _json(work, env, "routes", "list", "-o", "json")["routes"]}
    status = {s["stage"]: s for s in _json(work, env, "plan", "status", "-o", "json")["stages"]}
    for stage in status.values():
        for route in stage["routes"]:
            live = routes.get(route["route"])
            if live is None:
                assert route["state"] == "absent", route
                continue
            expected = live["mode"] + (f" {live['weight']}%" if live["mode"] == "canary" else "")
            assert route["state"] == expected, (route, live)
            assert not route["off_plan"] and not route["match_differs"], route
    incomplete = [name for name in ("front-door", "catalog-reads") if not status[name]["complete"]]
    assert not incomplete, (
        f"stages {incomplete} not complete: {[status[name] for name in incomplete]}\n"
        f"step 9:\n{by_step[9]}\nstep 10:\n{by_step[10]}"
    )
    assert status["orders"]["step"] == "shadow" and status["catalog-writes"]["step"] == "not started"
    preview = _json(work, env, "plan", "advance", "--dry-run", "--json")
    assert preview["stage"] == "catalog-writes" and preview["to"] == "retire", preview
    assert not preview["problems"], preview["problems"]
    for change in preview["changes"]:
        _route, _, move = change.partition(": ")
        if move.startswith("match "):
            continue
        before, _, after = move.partition(" -> ")
        assert MODE_RANK[after.split()[0]] >= MODE_RANK[before.split()[0]], change
