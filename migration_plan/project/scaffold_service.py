"""`strangler new-service NAME --route /api/things`: a Flask service on the service kit, with the layers
of the extracted services (domain, service layer, adapters with Alembic migrations, entrypoints,
bootstrap with ``create_app``), health, readiness, metrics and JSON logs from the kit, forward sync's
endpoint with an example applier (the monolith's events), and tests.

Markers in the templates: ``__NAME__`` (the service's package name), ``__CLASS__`` (its CamelCase),
``__UPPER__`` (its environment prefix), ``__PORT__`` and ``__ROUTE__``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

__all__ = ["Scaffold", "ScaffoldError", "scaffold_service"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,11}")  # 12 at most: the generated lines stay within 110
_ROUTE = re.compile(r"/[A-Za-z0-9_\-/]{0,58}[A-Za-z0-9_\-]")


class ScaffoldError(ValueError):
    """The service cannot be written as asked; the message says why."""


@dataclass(frozen=True)
class Scaffold:
    written: tuple[Path, ...]
    service_dir: Path
    test_file: Path


def _templates() -> dict[str, str]:
    from migration_plan.project import scaffold_sync_templates, scaffold_templates

    folder = resources.files("migration_plan.project.scaffold")
    mako = folder.joinpath("script.py.mako.txt").read_text("utf-8")
    files = {**scaffold_templates.FILES, **scaffold_sync_templates.SYNC_FILES}
    return {**files, "adapters/migrations/script.py.mako": mako}


def _sorted_imports(text: str) -> str:
    """Each run of ``from new_services.`` lines in the order the linter wants (it depends on the name)."""
    lines = text.split("\n")
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, None]:
        if line is not None and line.startswith("from new_services."):
            run.append(line)
            continue
        out.extend(sorted(run, key=lambda item: item.split()[1]))
        run = []
        if line is not None:
            out.append(line)
    return "\n".join(out)


def scaffold_service(root: Path, name: str, route: str, port: int, *, force: bool = False) -> Scaffold:
    """Write ``new_services/<name>/`` and ``tests/unit/<name>/`` under ``root``."""
    if not _NAME.fullmatch(name):
        raise ScaffoldError(
            f"{name!r}: a service name is 1 to 12 lowercase letters, digits and '_', starting with a letter"
        )
    if not _ROUTE.fullmatch(route):
        raise ScaffoldError(f"{route!r}: the route is a path such as /api/things (no trailing slash)")
    service_dir = root / "new_services" / name
    if service_dir.exists() and not force:
        raise ScaffoldError(f"{service_dir} exists: pass --force to write over it")
    if not (root / "new_services" / "kit").is_dir() and find_spec("new_services.kit") is None:
        raise ScaffoldError("the service kit (new_services.kit) is not installed: pip install the toolkit")
    marks = {
        "__NAME__": name,
        "__CLASS__": "".join(part.capitalize() for part in name.split("_")),
        "__UPPER__": name.upper(),
        "__PORT__": str(port),
        "__ROUTE__": route,
    }
    written = []
    for relative, text in _templates().items():
        for mark, value in marks.items():
            text = text.replace(mark, value)
            relative = relative.replace(mark, value)
        if relative.startswith("tests/"):
            target = root / "tests" / "unit" / name / relative.removeprefix("tests/")
        else:
            target = service_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_sorted_imports(text), encoding="utf-8")
        written.append(target)
    return Scaffold(tuple(written), service_dir, root / "tests" / "unit" / name / f"test_{name}_service.py")
