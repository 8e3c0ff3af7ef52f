"""The engine's per-route figures, folded from HAProxy's log lines as the data plane counts its own."""

from __future__ import annotations

import pytest

from strangler_proxy.engines.haproxy.request_log import SecondStats

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.2

    def __call__(self) -> float:
        return self.now


def rows(stats: SecondStats, **kwargs: bool) -> dict[tuple[int, str, str], tuple[int, int, int]]:
    return {
        (second, route, target): (counts.requests, counts.by_class[2], counts.by_class[5])
        for second, route, target, counts in stats.drain(**kwargs)
    }


def test_lines_fold_into_per_second_rows_of_route_and_side() -> None:
    clock = Clock()
    stats = SecondStats(clock)
    stats.line("products new fb_catalog new 200 12 0 ----")
    stats.line("products legacy up_legacy s 503 3 0 SC--")
    clock.now = 1001.5
    stats.line("- legacy up_legacy s 200 1 0 ----")
    assert rows(stats) == {(1000, "products", "new"): (1, 1, 0), (1000, "products", "legacy"): (1, 0, 1)}
    assert rows(stats, include_current=True) == {(1001, "-", "legacy"): (1, 1, 0)}


def test_a_get_that_fell_back_fails_on_the_new_side_and_answers_on_the_legacy() -> None:
    stats = SecondStats(Clock())
    stats.line("products new fb_catalog legacy 200 40 1 ----")  # a failed try, then the legacy
    stats.line("products new fb_catalog legacy 200 2 0 ----")  # the new side was down already
    found = {(r, t): c for _, r, t, c in stats.drain(include_current=True)}
    assert found[("products", "new")].by_class[5] == 2
    assert found[("products", "legacy")].by_class[2] == 2


def test_latency_lands_in_the_stores_buckets() -> None:
    stats = SecondStats(Clock())
    for total in (0, 4, 150, 45000):
        stats.line(f"products new up_catalog s 200 {total} 0 ----")
    [(_, _, _, counts)] = stats.drain(include_current=True)
    assert counts.latency_sum_ms == 45154
    assert (
        counts.buckets[0] == 1
        and counts.buckets[2] == 1
        and counts.buckets[7] == 1
        and counts.buckets[-1] == 1
    )


def test_unrouted_and_malformed_lines_are_left_out() -> None:
    stats = SecondStats(Clock())
    stats.line("- - front <NOSRV> 400 0 0 PR--")  # refused before routing (a bad path)
    stats.line("garbage")
    stats.line("products new up_catalog s abc 1 0 ----")
    assert stats.drain(include_current=True) == []
    assert (stats.lines, stats.malformed) == (3, 2)
