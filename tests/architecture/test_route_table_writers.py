"""The control plane is the only writer of route tables: outside it, no code inserts, updates or deletes
a row of ``route_versions`` or ``active_route_table`` (SQLAlchemy or SQL text) or calls the repository's
writes. Inside it, only the versions repository touches the tables, and only the commit of a change
(service_layer/commits.py) and the store's bootstrap call its writes. Tests may write a store directly (the
data plane's run without a control plane); anything else needs a line in ALLOWED, with its reason."""

from __future__ import annotations

import ast
import re

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

TABLES = frozenset({"route_versions", "active_route_table"})
REPOSITORY_WRITES = frozenset({"insert_version", "swap_pointer", "create_pointer"})
SQL_WRITE = re.compile(
    r"\b(insert\s+into|update|delete\s+from)\s+(route_versions|active_route_table)\b", re.I
)
SCANNED = (
    "strangler_proxy",
    "migration_plan",
    "acl",
    "new_services",
    "strangler_django",
    "benchmarks",
    "scripts",
)

TABLE_WRITERS = {"strangler_proxy/controlplane/repositories/versions.py"}
"""Where the statements that write the tables live."""
REPOSITORY_CALLERS = {
    "strangler_proxy/controlplane/repositories/versions.py",
    "strangler_proxy/controlplane/service_layer/commits.py",
    "strangler_proxy/controlplane/service_layer/bootstrap.py",
}
"""Who calls the repository's writes: the one commit of a change, and the first version at bootstrap."""
ALLOWED = {
    "benchmarks/bench_proxy.py": "measures the data plane alone, without a control plane, on its own store",
}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def table_writes(source: str) -> list[str]:
    """Each write of a route table in ``source``: ``insert(route_versions)``, ``active_route_table.update()``,
    SQL text that inserts, updates or deletes either table."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            called = _name(node.func)
            if called in ("insert", "update", "delete") and node.args and _name(node.args[0]) in TABLES:
                found.append(f"line {node.lineno}: {called}({_name(node.args[0])})")
            elif (
                isinstance(node.func, ast.Attribute)
                and called in ("insert", "update", "delete")
                and _name(node.func.value) in TABLES
            ):
                found.append(f"line {node.lineno}: {_name(node.func.value)}.{called}()")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_WRITE.search(node.value):
            found.append(f"line {node.lineno}: SQL {SQL_WRITE.search(node.value).group(0)!r}")  # type: ignore[union-attr]
    return found


def repository_writes(source: str) -> list[str]:
    return [
        f"line {node.lineno}: {_name(node.func)}()"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and _name(node.func) in REPOSITORY_WRITES
    ]


def _sources() -> list[tuple[str, str]]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue  # the schema's own history creates the tables, it writes no table
            files.append((relative, path.read_text(encoding="utf-8")))
    return files


def test_only_the_control_plane_writes_route_tables() -> None:
    offenders = {}
    for relative, source in _sources():
        if relative in TABLE_WRITERS or relative in ALLOWED:
            continue
        found = table_writes(source)
        if relative not in REPOSITORY_CALLERS:
            found += repository_writes(source)
        if found:
            offenders[relative] = found
    assert not offenders, (
        "route tables are written only by the control plane (publish through its admin API or its "
        f"service layer instead): {offenders}"
    )


def test_the_allow_list_names_only_real_writers() -> None:
    sources = dict(_sources())
    stale = [path for path in ALLOWED if path not in sources or not table_writes(sources[path])]
    assert not stale, f"ALLOWED names files that no longer write route tables: {stale}"


def test_the_scan_finds_each_kind_of_write() -> None:
    source = """
from sqlalchemy import insert, update, text
insert(route_versions).values(document="{}")
schema.active_route_table.update().values(generation=2)
conn.execute(text("UPDATE active_route_table SET version_id = 3"))
versions.swap_pointer(conn, expected=1, new=2, now=now)
select(route_versions.c.document)
"""
    assert sorted(w.split(": ")[1] for w in table_writes(source)) == [
        "SQL 'UPDATE active_route_table'",
        "active_route_table.update()",
        "insert(route_versions)",
    ]
    assert [w.split(": ")[1] for w in repository_writes(source)] == ["swap_pointer()"]
