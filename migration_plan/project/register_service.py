"""A new service in the project's files: a ``[[services]]`` table in strangler.toml, and its import
contracts (layers; independence from the other services) in ``.importlinter``."""

from __future__ import annotations

from pathlib import Path

from migration_plan.project.loader import parse_project
from migration_plan.project.schema import ProjectFile

__all__ = ["add_import_contracts", "add_service_table", "next_service_port"]

FIRST_SERVICE_PORT = 8201


def next_service_port(project: ProjectFile) -> int:
    """One above the highest port a service of the file has (8201 for the first)."""
    ports = [service.port for service in project.services]
    return max(ports) + 1 if ports else FIRST_SERVICE_PORT


def add_service_table(path: Path, name: str, port: int) -> bool:
    """Append the service to strangler.toml (validated before it is written); False when it is there."""
    text = path.read_text(encoding="utf-8")
    if any(service.name == name for service in parse_project(text, source=str(path)).services):
        return False
    table = (
        f'\n[[services]]\nname = "{name}"\npath = "new_services/{name}"\nport = {port}\nhealth = "/readyz"\n'
    )
    updated = text.rstrip("\n") + "\n" + table
    parse_project(updated, source=str(path))
    path.write_text(updated, encoding="utf-8")
    return True


def add_import_contracts(path: Path, name: str) -> bool:
    """The service's layers contract, and the service in the services' independence contract; False when
    the file already names it or has no such contracts."""
    text = path.read_text(encoding="utf-8")
    package = f"new_services.{name}"
    if f"[importlinter:contract:{name}-layers]" in text:
        return False
    marker = "[importlinter:contract:services-independent]"
    if marker in text:
        head, _, tail = text.partition(marker)
        tail = tail.replace("modules =\n", f"modules =\n    {package}\n", 1)
        text = head + marker + tail
    layers = "\n".join(
        f"    {package}.{layer}"
        for layer in ("entrypoints", "bootstrap", "adapters", "service_layer", "domain")
    )
    text = (
        text.rstrip("\n")
        + f"\n\n[importlinter:contract:{name}-layers]\n"
        + f"name = The {name} service is layered: entrypoints, bootstrap, adapters, service layer, domain\n"
        + f"type = layers\nlayers =\n{layers}\n"
    )
    path.write_text(text, encoding="utf-8")
    return True
