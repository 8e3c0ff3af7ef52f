"""Small modules and short functions: no module outside tests over 400 lines, no function over 80 lines
unless a comment in it starting ``# long:`` says why (in a sentence, not a word). There is no
allow-list: a module or function over its limit fails, whichever it is."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

MODULE_LINES = 400
FUNCTION_LINES = 80
SKIPPED = (".", "vendor/", "tests/", "node_modules/")
"""Hidden folders (.venv, .venv-django42, .git, caches), vendored code, tests and node packages."""

REASON_WORDS = 8
"""A ``# long:`` comment says why in at least this many words (with the lines after it)."""


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


def test_no_module_over_the_limit() -> None:
    modules, _ = _measure()
    assert not modules, f"modules over {MODULE_LINES} lines (split them into one concept each): {modules}"


def test_no_function_over_the_limit() -> None:
    _, functions = _measure()
    assert not functions, (
        f"functions over {FUNCTION_LINES} lines (shorten them, or say why in a `# long:` comment): "
        f"{functions}"
    )


def long_reasons(source: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each ``# long:`` comment, with the comment lines that continue it."""
    lines = source.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith("# long:"):
            text = [line.strip().removeprefix("# long:")]
            for following in lines[number:]:
                stripped = following.strip()
                if not stripped.startswith("#") or stripped.startswith("# long:"):
                    break
                text.append(stripped.removeprefix("#"))
            yield number, " ".join(text)


def test_every_long_comment_says_why() -> None:
    terse = {
        f"{relative}:{number}": text
        for relative, source in _modules()
        for number, text in long_reasons(source)
        if len(text.split()) < REASON_WORDS
    }
    assert not terse, f"a `# long:` comment says why the function is long, in a sentence: {terse}"


def test_a_long_comment_excuses_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    plain = f"def f():\n{body}\n"
    excused = f"def f():\n    # long: one table of constants, read top to bottom\n{body}\n"
    nested = f"class C:\n    def g(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n"
    assert list(long_functions(plain)) == [("f", FUNCTION_LINES + 1)]
    assert list(long_functions(excused)) == []
    assert [name for name, _ in long_functions(nested)] == ["C.g"]
    assert [len(text.split()) for _, text in long_reasons(excused)] == [8]


def test_the_scan_sees_the_project() -> None:
    assert ROOT / "strangler_proxy" in [Path(ROOT / p.split("/")[0]) for p, _ in _modules()]
