"""Exact and prefix matching does not slow down with table size.

The 2x time bound itself is measured by `make bench` (benchmarks/bench_matcher.py), never by a timed test;
here the work per request is counted instead, which is exact and independent of machine load.
"""

from __future__ import annotations

import pytest

from benchmarks.bench_matcher import build_requests, build_table
from strangler_proxy.dataplane.routing import UNMATCHED, compile_table
from strangler_proxy.dataplane.routing.matcher import CompiledRule

pytestmark = pytest.mark.unit


def test_the_benchmark_requests_hit_rules_across_the_whole_table() -> None:
    compiled = compile_table(build_table(10_000))
    routes = [compiled.decide("GET", path, []).route for path in build_requests(10_000)]
    matched = sorted(int(route[1:]) for route in routes if route != UNMATCHED)
    assert routes.count(UNMATCHED) == pytest.approx(len(routes) / 3, rel=0.05)
    assert matched[0] < 500 and matched[-1] > 9_500


def test_the_rules_examined_per_request_do_not_grow_with_the_table(monkeypatch) -> None:
    examined = 0
    accepts = CompiledRule.accepts

    def counting(self, method, request):  # type: ignore[no-untyped-def]
        nonlocal examined
        examined += 1
        return accepts(self, method, request)

    monkeypatch.setattr(CompiledRule, "accepts", counting)
    per_size = {}
    for size in (10, 10_000):
        compiled = compile_table(build_table(size))
        examined = 0
        for path in build_requests(size):
            compiled.decide("GET", path, [])
        per_size[size] = examined
    assert 0 < per_size[10_000] == per_size[10] <= 2 * len(build_requests(10))
