"""What `strangler init` learns of a Django project, by asking it in a subprocess (never importing it).

The subprocess runs the project's settings with Django and prints its WSGI application, whether
strangler_django is installed, and its routes as strangler_django's inventory reads them (which needs
Django only, so it works before the app is added to ``INSTALLED_APPS``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DjangoProject", "InitError", "find_manage", "introspect", "settings_module_of"]

_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")

_SCRIPT = """
import json, django
from django.conf import settings
django.setup()
from strangler_django.inventory import url_inventory
print(json.dumps({
    "wsgi": settings.WSGI_APPLICATION,
    "installed": "strangler_django" in settings.INSTALLED_APPS,
    "routes": url_inventory(exclude_admin=True),
}))
"""


class InitError(Exception):
    """The project cannot be set up as it is; the message says what to pass or fix."""


@dataclass(frozen=True)
class DjangoProject:
    directory: Path
    manage: Path
    settings: str
    wsgi: str
    """The WSGI callable as ``module:name`` (for gunicorn)."""
    installed: bool
    """Whether strangler_django is in ``INSTALLED_APPS`` already."""
    routes: list[dict[str, Any]]


def find_manage(start: Path) -> Path:
    """``manage.py`` in ``start`` or the nearest folder above it."""
    for folder in (start, *start.parents):
        candidate = folder / "manage.py"
        if candidate.is_file():
            return candidate
    raise InitError(f"no manage.py in {start} or above it: run this in your Django project, or pass --manage")


def settings_module_of(manage: Path) -> str:
    """The settings module ``manage.py`` sets as its default."""
    found = _SETTINGS.search(manage.read_text(encoding="utf-8"))
    if found is None:
        raise InitError(f"{manage} sets no DJANGO_SETTINGS_MODULE: pass --settings your_project.settings")
    return found.group(1)


def introspect(
    manage: Path, settings: str, *, python: str = sys.executable, timeout: float = 120.0
) -> DjangoProject:
    """Load the project's settings and URLconf in a subprocess, in the folder of ``manage.py``."""
    directory = manage.resolve().parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")]))
    try:
        done = subprocess.run(
            [python, "-c", _SCRIPT],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InitError(f"could not load {settings}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:]) or "no output"
        raise InitError(f"loading the settings {settings} and the URLconf failed:\n{tail}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    module, _, name = str(data["wsgi"]).rpartition(".")
    return DjangoProject(
        directory=directory,
        manage=manage.resolve(),
        settings=settings,
        wsgi=f"{module}:{name}",
        installed=bool(data["installed"]),
        routes=list(data["routes"]),
    )


def health_path(project: DjangoProject) -> str:
    """``/readyz`` once strangler_django is installed; else the first route without parameters that takes
    GET (the project's own page answers while the app is not there yet)."""
    if project.installed:
        return "/readyz"
    for route in project.routes:
        pattern = route["pattern"]
        methods = route.get("methods")
        if re.search(r"[<(\[\\?*+]", pattern) or (methods and "GET" not in methods):
            continue
        return pattern
    return "/"
