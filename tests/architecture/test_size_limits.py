"""Small modules and short functions: no module outside tests over 400 lines, no function over 80 lines
unless a comment in it starting ``# long:`` says why.

Today's offenders are listed below, so that a new one fails; the lists only shrink (an entry that is
no longer over its limit fails too, so whoever fixes one removes it)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

MODULE_LINES = 400
FUNCTION_LINES = 80
SKIPPED = (".venv/", "vendor/", "tests/", "node_modules/", ".git/")

LONG_MODULES = {
    "migration_plan/plan/engine.py",
    "migration_plan/project/scaffold_templates.py",
    "migration_plan/supervisor/process.py",
    "strangler_proxy/dataplane/protocol.py",
    "strangler_proxy/dataplane/shadow/replay_client.py",
}
"""Modules over MODULE_LINES lines, to be split."""

LONG_FUNCTIONS = {
}
"""Functions over FUNCTION_LINES lines without a ``# long:`` comment, to be shortened."""


def _modules() -> Iterator[tuple[str, str]]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith(SKIPPED):
            yield relative, path.read_text(encoding="utf-8")


def long_functions(source: str) -> Iterator[tuple[str, int]]:
    """(qualified name, lines) of each function over FUNCTION_LINES lines without a ``# long:`` comment."""
    lines = source.splitlines()

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                end = child.end_lineno or child.lineno
                length = end - child.lineno + 1
                body = lines[child.lineno - 1 : end]
                if length > FUNCTION_LINES and not any(line.strip().startswith("# long:") for line in body):
                    yield f"{prefix}{child.name}", length
                yield from visit(child, f"{prefix}{child.name}.")

    yield from visit(ast.parse(source), "")


def _measure() -> tuple[dict[str, int], dict[str, int]]:
    modules, functions = {}, {}
    for relative, source in _modules():
        count = len(source.splitlines())
        if count > MODULE_LINES:
            modules[relative] = count
        for name, length in long_functions(source):
            functions[f"{relative}:{name}"] = length
    return modules, functions


def test_no_new_module_over_the_limit() -> None:
    modules, _ = _measure()
    new = {path: lines for path, lines in modules.items() if path not in LONG_MODULES}
    assert not new, f"modules over {MODULE_LINES} lines (split them into one concept each): {new}"


def test_no_new_function_over_the_limit() -> None:
    _, functions = _measure()
    new = {name: lines for name, lines in functions.items() if name not in LONG_FUNCTIONS}
    assert not new, (
        f"functions over {FUNCTION_LINES} lines (shorten them, or say why in a `# long:` comment): {new}"
    )


def test_the_allow_lists_only_shrink() -> None:
    modules, functions = _measure()
    fixed = sorted((LONG_MODULES - modules.keys()) | (LONG_FUNCTIONS - functions.keys()))
    assert not fixed, f"no longer over the limit: remove them from the lists: {fixed}"


def test_a_long_comment_excuses_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    plain = f"def f():\n{body}\n"
    excused = f"def f():\n    # long: one table of constants, read top to bottom\n{body}\n"
    nested = f"class C:\n    def g(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n"
    assert list(long_functions(plain)) == [("f", FUNCTION_LINES + 1)]
    assert list(long_functions(excused)) == []
    assert [name for name, _ in long_functions(nested)] == ["C.g"]


def test_the_scan_sees_the_project() -> None:
    assert ROOT / "strangler_proxy" in [Path(ROOT / p.split("/")[0]) for p, _ in _modules()]
