"""The toolkit as a user gets it (docs/adopt.md, step 1): the wheel ``make wheel`` builds, installed into a
virtualenv of its own, with nothing of the checkout on its path.

``build_wheel`` runs ``make wheel``'s command (the locked PyPA build frontend on the locked hatchling,
no isolation, so no download). ``install_toolkit`` makes a fresh virtualenv, installs the toolkit's locked
dependencies (requirements.lock, hashes checked, from pip's cache or the package index the lock comes
from) plus the extra locked packages a test's project needs, then the wheel alone (``--no-deps``), as
docs/adopt.md's step 1 does, and checks that each of the wheel's packages is imported from the virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ROOT

__all__ = [
    "RUNTIME_PACKAGES",
    "InstalledToolkit",
    "assert_runs_outside_the_checkout",
    "build_wheel",
    "install_toolkit",
    "locked_requirements",
]

RUNTIME_PACKAGES = ("strangler_django", "strangler_proxy", "migration_plan", "acl", "new_services")
"""The packages of the wheel a user's project runs (the demo's legacy_monolith aside)."""

_LEFT_OUT = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 900) -> str:
    """``argv``'s output; an assertion error with its output when it fails."""
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else _clean_environ(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _LEFT_OUT}


def build_wheel(out: Path) -> Path:
    """``make wheel``'s command, into ``out``: the path of the wheel."""
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)], out)
    [built] = out.glob("strangler_fig-*.whl")
    return built


def locked_requirements(lock: Path, names: Sequence[str]) -> str:
    """The entries of ``names`` in ``lock`` (``name==version`` with its hashes): a requirements file."""
    text = lock.read_text(encoding="utf-8")
    entries = []
    for name in names:
        found = re.search(rf"^{re.escape(name)}==\S+.*?(?=^\S|\Z)", text, flags=re.M | re.S)
        assert found, f"{lock.name} pins no {name}"
        entries.append(re.sub(r"^\s*#.*\n", "", found.group(0), flags=re.M).rstrip())
    return "\n".join(entries) + "\n"


@dataclass(frozen=True)
class InstalledToolkit:
    """A virtualenv with the wheel installed: what a user's project has after docs/adopt.md's step 1."""

    venv: Path
    wheel: Path
    seconds: float
    """How long the virtualenv and its installs took."""

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This process's environment with the virtualenv activated and nothing of the checkout's path."""
        env = _clean_environ()
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        return {**env, **(extra or {})}

    def locations(self, cwd: Path) -> dict[str, str]:
        """Where the virtualenv's Python, run in ``cwd``, imports each runtime package from."""
        code = (
            "import importlib, json\n"
            f"names = {list(RUNTIME_PACKAGES)!r}\n"
            "print(json.dumps({n: importlib.import_module(n).__file__ for n in names}))\n"
        )
        out = run([str(self.bin / "python"), "-c", code], cwd, env=self.environ())
        return dict(json.loads(out))

    def assert_not_the_checkout(self, cwd: Path) -> None:
        """Each runtime package comes from the virtualenv's site-packages, none from the checkout."""
        site_packages = next((self.venv / "lib").glob("python3.*/site-packages"))
        for name, location in self.locations(cwd).items():
            path = Path(location).resolve()
            assert path.is_relative_to(site_packages.resolve()), f"{name} comes from {path}, not the wheel"
            assert not path.is_relative_to(ROOT), f"{name} comes from the checkout: {path}"


def assert_runs_outside_the_checkout(pids: Sequence[int]) -> None:
    """Each of these processes (Linux) runs the virtualenv's code: nothing of the checkout on its command
    line, as its working directory or on its PYTHONPATH."""
    for pid in pids:
        proc = Path("/proc") / str(pid)
        command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        assert str(ROOT) not in command, f"process {pid} runs from the checkout: {command}"
        cwd = (proc / "cwd").resolve()
        assert not cwd.is_relative_to(ROOT), f"process {pid} ({command}) works in the checkout"
        environ = dict(
            entry.split("=", 1)
            for entry in (proc / "environ").read_text(errors="replace").split("\0")
            if "=" in entry
        )
        assert str(ROOT) not in environ.get("PYTHONPATH", ""), f"process {pid} has the checkout on its path"


def install_toolkit(wheel: Path, venv: Path, *, extra: Sequence[str] = ()) -> InstalledToolkit:
    """A fresh virtualenv at ``venv`` with requirements.lock, ``extra`` (pinned by requirements-dev.lock)
    and the wheel."""
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(venv)], venv.parent)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--quiet", "--disable-pip-version-check"]
    requirements = ["-r", str(ROOT / "requirements.lock")]
    if extra:
        more = venv.parent / f"{venv.name}-extra.txt"
        more.write_text(locked_requirements(ROOT / "requirements-dev.lock", extra), encoding="utf-8")
        requirements += ["-r", str(more)]
    run([*pip, "install", "--require-hashes", *requirements], venv.parent)
    run([*pip, "install", "--no-deps", str(wheel)], venv.parent)
    run([*pip, "check"], venv.parent)
    return InstalledToolkit(venv=venv, wheel=wheel, seconds=time.monotonic() - started)
