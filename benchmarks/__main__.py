"""Run every ``benchmarks/bench_*.py`` module's ``run()`` in turn and print its lines.

``run()`` may print its lines itself (any return value other than a list, tuple or generator of
strings is ignored) or return them; either way they reach standard output in the order the modules
are named.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from collections.abc import Iterable

import benchmarks

__all__ = ["main"]


def main(selected: Iterable[str] = ()) -> int:
    wanted = set(selected)
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_") and (not wanted or info.name in wanted)
    )
    failed = 0
    for name in names:
        started = time.monotonic()
        print(f"# {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            result = module.run()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed += 1
            print(f"# {name} failed: {type(exc).__name__}: {exc}", flush=True)
            continue
        if isinstance(result, list | tuple) or inspect.isgenerator(result):
            for line in result:
                print(line, flush=True)
        print(f"# {name} took {time.monotonic() - started:.0f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
