"""The wheel (``make wheel``) holds every runtime part: each file of its packages the checkout tracks, and
each piece of package data the code loads at run time (the admin UI's templates and static files with
the vendored htmx and Chart.js, the store's and the services' Alembic migrations, the scaffold's
templates, HAProxy's Lua, the Flask blueprints' templates, strangler_django's migrations).

The data the code loads is found in the code itself, not listed by hand: ``Path(__file__).parent /
"x"``, ``Path(__file__).with_name("x")``, ``resources.files("pkg")`` with its ``joinpath("x")``, and
Flask's ``template_folder="x"``, in every module of the wheel's packages."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.processes import ROOT
from tests.support.wheel import build_wheel

pytestmark = [pytest.mark.integration]

NEXT_TO_MODULE = (
    re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.parent\s*/\s*\"([^\"]+)\""),
    re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.with_name\(\"([^\"]+)\"\)"),
    re.compile(r"template_folder=\"([^\"]+)\""),
)
RESOURCE_PACKAGE = re.compile(r"resources\.files\(\"([\w.]+)\"\)")
JOINPATH = re.compile(r"\.joinpath\(\"([^\"]+)\"\)")
# What the scan must find (a scan that finds nothing would pass vacuously)
FOUND_BY_THE_SCAN = (
    "strangler_proxy/controlplane/ui/templates",
    "strangler_proxy/controlplane/ui/static",
    "strangler_proxy/store/migrations",
    "strangler_proxy/engines/haproxy/identity.lua",
    "migration_plan/project/scaffold/script.py.mako.txt",
    "new_services/kit/templates",
    "new_services/catalog/adapters/migrations",
)
# Loaded by a convention the scan does not see: the admin UI's pages name the vendored scripts, Django
# finds an app's migrations by its name
BY_CONVENTION = (
    "strangler_proxy/controlplane/ui/static/vendor/htmx",
    "strangler_proxy/controlplane/ui/static/vendor/chartjs",
    "strangler_django/migrations/0001_initial.py",
)


def _packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    with zipfile.ZipFile(build_wheel(tmp_path_factory.mktemp("dist"))) as archive:
        return set(archive.namelist())


def _tracked(packages: list[str]) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    done = subprocess.run(
        ["git", "ls-files", "--", *packages], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line for line in done.stdout.splitlines() if (ROOT / line).is_file()]


def _code_only(text: str) -> str:
    """The module without its strings of more than one line (docstrings, the scaffold's templates)."""
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.end_lineno != node.lineno:
            for number in range(node.lineno - 1, node.end_lineno or node.lineno):
                lines[number] = ""
    return "\n".join(lines)


def loaded_at_run_time(packages: list[str]) -> set[str]:
    """The files and folders, relative to the checkout, that the packages' modules load as data."""
    found: set[str] = set()
    for package in packages:
        for module in (ROOT / package).rglob("*.py"):
            if "tests" in module.relative_to(ROOT).parts:
                continue
            text = _code_only(module.read_text(encoding="utf-8"))
            for pattern in NEXT_TO_MODULE:
                beside = {module.parent / name for name in pattern.findall(text)}
                found |= {path.relative_to(ROOT).as_posix() for path in beside}
            for resource in RESOURCE_PACKAGE.findall(text):
                folder = Path(*resource.split("."))
                names = JOINPATH.findall(text)
                found |= {(folder / name).as_posix() for name in names} if names else {folder.as_posix()}
    return found


def _in_wheel(path: str, names: set[str]) -> bool:
    """A file of the wheel, or a folder with at least one file that is not Python."""
    return path in names or any(n.startswith(path + "/") and not n.endswith(".py") for n in names)


def test_every_file_the_packages_track_is_in_the_wheel(wheel_names: set[str]) -> None:
    tracked = _tracked(_packages())
    assert len(tracked) > 100, tracked
    missing = sorted(set(tracked) - wheel_names)
    assert not missing, f"the wheel lacks {len(missing)} tracked files: {missing[:20]}"


def test_the_data_the_code_loads_at_run_time_is_in_the_wheel(wheel_names: set[str]) -> None:
    loaded = loaded_at_run_time(_packages())
    assert set(FOUND_BY_THE_SCAN) <= loaded, sorted(loaded)
    for path in sorted(loaded | set(BY_CONVENTION)):
        assert (ROOT / path).exists(), f"the code loads {path}, which the checkout does not have"
        assert _in_wheel(path, wheel_names), f"the code loads {path} at run time; the wheel lacks it"


def test_make_wheel_builds_as_the_tests_do() -> None:
    """The tests' wheel (tests/support/wheel.py) is ``make wheel``'s: the same frontend, options, backend."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^wheel:.*\n\t(.+)$", makefile, flags=re.M)
    assert recipe, "the Makefile has no wheel target"
    assert "python -m build --wheel --no-isolation --outdir" in recipe.group(1), recipe.group(1)


def test_docs_adopt_md_installs_as_the_tests_do() -> None:
    """docs/adopt.md's step 1 is what tests/support/wheel.py runs: the locked dependencies, then the wheel."""
    text = (ROOT / "docs" / "adopt.md").read_text(encoding="utf-8")
    step = text[text.index("## 1. ") : text.index("## 2. ")]
    [block] = re.findall(r"```sh\n(.*?)```", step, flags=re.S)
    commands = [line.split("#")[0].split() for line in block.splitlines() if line.strip()]
    assert commands[0] == ["make", "wheel"], commands
    assert commands[1][:4] == ["pip", "install", "--require-hashes", "-r"], commands
    assert commands[1][4].endswith("/requirements.lock"), commands
    assert commands[2][:3] == ["pip", "install", "--no-deps"], commands
    assert re.fullmatch(r".*/dist/strangler_fig-[\w.]+-py3-none-any\.whl", commands[2][3]), commands
    assert len(commands) == 3, commands
