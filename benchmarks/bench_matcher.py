"""Matching must not slow down with the table: time ``decide()`` with 10,000 exact/prefix rules vs 10.

Both tables hold the same kinds of rules (half exact, half prefix, the paths three segments deep) and
are asked the same mix of requests: hits on exact rules, hits below prefix rules (spread from the
first rule to the last) and misses, each with a realistic set of headers. The figure is the ratio
of the best timed batches; the requirement is at most 2.
"""

from __future__ import annotations

import gc
import random
import time

from strangler_proxy.dataplane.routing import CompiledTable, compile_table
from strangler_proxy.routes import RouteTable, Rule, RuleAction, RuleMatch, Upstream

__all__ = ["measure", "run"]

HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"shop.example"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"),
    (b"accept", b"text/html,application/xhtml+xml"),
    (b"accept-language", b"en-GB,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"cookie", b"csrftoken=abc123; sessionid=k2j3h4k2j3h4"),
    (b"connection", b"keep-alive"),
]
REQUESTS = 2_000
BATCH = 200
ROUNDS = 5


def build_table(size: int) -> RouteTable:
    rules = []
    for i in range(size):
        if i % 2 == 0:
            match = RuleMatch(kind="exact", path=f"/shop/item{i}/detail")
        else:
            match = RuleMatch(kind="prefix", path=f"/api/area{i}/v1")
        rules.append(Rule(name=f"r{i}", match=match, action=RuleAction(mode="new", upstream="catalog")))
    return RouteTable(
        upstreams={
            "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
            "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
        },
        rules=tuple(rules),
    )


def build_requests(size: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    paths = []
    for n in range(REQUESTS):
        i = rng.randrange(size)
        kind = n % 3
        if kind == 0:
            i -= i % 2
            paths.append(f"/shop/item{i}/detail")
        elif kind == 1:
            i |= 1
            i = i if i < size else size - 1
            paths.append(f"/api/area{i}/v1/things/{n}")
        else:
            paths.append(f"/static/css/site{n}.css")
    return paths


def _time_once(table: CompiledTable, paths: list[str]) -> float:
    decide, headers = table.decide, HEADERS
    started = time.perf_counter()
    for path in paths:
        decide("GET", path, headers)
    return time.perf_counter() - started


def measure(small: int = 10, large: int = 10_000, rounds: int = ROUNDS) -> float:
    """Best time per request with ``large`` rules divided by the same with ``small`` rules.

    The requests are timed in short batches, alternating between the two tables, and the best batch
    of each counts: on a shared machine, the best is the one no other process interrupted.
    """
    tables = {size: (compile_table(build_table(size)), build_requests(size)) for size in (small, large)}
    best = {size: float("inf") for size in tables}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for table, paths in tables.values():
            _time_once(table, paths)  # warm up
        for _ in range(rounds):
            for start in range(0, REQUESTS, BATCH):
                for size, (table, paths) in tables.items():
                    best[size] = min(best[size], _time_once(table, paths[start : start + BATCH]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return best[large] / best[small]


def run() -> float:
    ratio = measure()
    print(f"match_10k_vs_10: {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    run()
