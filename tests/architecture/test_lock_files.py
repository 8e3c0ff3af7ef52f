"""Installs are reproducible: the lock files cover pyproject.toml, agree with each other, and .venv holds
exactly what they pin (the Makefile installs from requirements-dev.lock)."""

from __future__ import annotations

import importlib.metadata
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"


def _pins(path) -> dict[str, Requirement]:
    """Every ``name==version ; marker`` of a lock file, by canonical name, its hashes checked present."""
    pins: dict[str, Requirement] = {}
    for entry in path.read_text().replace("\\\n", " ").splitlines():
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        spec, *hashes = entry.split(" --hash=")
        requirement = Requirement(spec.strip())
        assert hashes, f"{path.name}: {requirement.name} has no hash"
        assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", entry
        pins[canonicalize_name(requirement.name)] = requirement
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _version(requirement: Requirement) -> str:
    return next(iter(requirement.specifier)).version


def test_every_declared_dependency_is_locked_at_a_version_pyproject_allows() -> None:
    pins = _pins(DEV_LOCK)
    stale = [
        str(declared)
        for declared in _declared()
        if canonicalize_name(declared.name) not in pins
        or not declared.specifier.contains(_version(pins[canonicalize_name(declared.name)]), prereleases=True)
    ]
    assert not stale, f"pyproject.toml changed since the lock was made (run `make lock`): {stale}"


def test_the_runtime_lock_pins_what_the_dev_lock_pins() -> None:
    runtime, dev = _pins(LOCK), _pins(DEV_LOCK)
    differing = {
        name: (_version(pin), _version(dev[name]) if name in dev else None)
        for name, pin in runtime.items()
        if name not in dev or _version(dev[name]) != _version(pin)
    }
    assert not differing, f"run `make lock`: {differing}"


def test_the_environment_holds_exactly_the_locked_versions() -> None:
    wrong = {}
    for name, pin in _pins(DEV_LOCK).items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != _version(pin):
            wrong[name] = (installed, _version(pin))
    assert not wrong, f"installed vs locked (reinstall with `make clean test`): {wrong}"
