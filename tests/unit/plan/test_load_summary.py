"""Locust CSV parsing, threshold checks, and the bounded locust command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_plan.toolbox.load import LoadError, LoadOptions, LoadSummary, locust_command, read_stats_csv
from migration_plan.toolbox.load.summary import read_failures_csv

pytestmark = pytest.mark.unit

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
    "99.99%,100%"
)
ROWS = [
    "GET,/,80,0,12,15.1,3.2,90.5,9030.0,8.0,0.0,12,14,16,18,25,40,60,80,90,90,90",
    "POST,/api/orders [checkout],20,2,110,120.0,50.0,400.0,500.0,2.0,0.2,"
    "110,130,150,160,200,300,380,400,400,400,400",
    ",Aggregated,100,2,14,36.0,3.2,400.0,7000.0,10.0,0.2,14,20,30,40,90,150,300,380,400,400,400",
]


def write_csv(tmp_path: Path, rows: list[str] = ROWS) -> Path:
    path = tmp_path / "run_stats.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_read_stats_csv(tmp_path: Path) -> None:
    aggregate, endpoints = read_stats_csv(write_csv(tmp_path))
    assert (aggregate.requests, aggregate.failures, aggregate.p95_ms, aggregate.rps) == (100, 2, 150.0, 10.0)
    assert [(e.method, e.name) for e in endpoints] == [("GET", "/"), ("POST", "/api/orders [checkout]")]
    assert endpoints[1].error_rate == 0.1


def test_a_csv_without_aggregate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no Aggregated row"):
        read_stats_csv(write_csv(tmp_path, ROWS[:1]))


@pytest.mark.parametrize(
    ("max_error_rate", "max_p95_ms", "problems"),
    [
        (None, None, []),
        (0.05, 200, []),
        (0.01, 200, ["error rate 2.00% > 1.00%"]),
        (0.05, 100, ["p95 150 ms > 100 ms"]),
    ],
)
def test_thresholds(tmp_path: Path, max_error_rate, max_p95_ms, problems) -> None:
    aggregate, endpoints = read_stats_csv(write_csv(tmp_path))
    summary = LoadSummary.build(
        aggregate=aggregate,
        endpoints=endpoints,
        max_error_rate=max_error_rate,
        max_p95_ms=max_p95_ms,
        host="http://127.0.0.1:8000",
        locustfile="loadtests/shop.py",
        users=5,
        run_time_s=10,
        csv_prefix="p",
        json_path="p_summary.json",
    )
    assert list(summary.problems) == problems and summary.passed is (not problems)
    data = summary.to_dict()
    assert data["passed"] is summary.passed and data["endpoints"][1]["error_rate"] == 0.1


def test_locust_command_is_headless_and_bounded(tmp_path: Path) -> None:
    options = LoadOptions(
        host="http://127.0.0.1:8000", users=5, spawn_rate=2.5, run_time_s=12, tags=("cart",)
    )
    command = locust_command(options, tmp_path / "x")
    assert "--headless" in command
    joined = " ".join(command)
    assert "--users 5 --spawn-rate 2.5 --run-time 12s" in joined
    assert f"--csv {tmp_path / 'x'}" in joined and command[-2:] == ["--tags", "cart"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": 0}, "users must be"),
        ({"run_time_s": 0}, "run time must be"),
        ({"spawn_rate": 0}, "spawn rate"),
        ({"host": "127.0.0.1:8000"}, "http"),
    ],
)
def test_options_are_validated(kwargs, message) -> None:
    with pytest.raises(LoadError, match=message):
        LoadOptions(**{"host": "http://127.0.0.1:8000", **kwargs})


def test_the_shop_locustfile_is_found_from_any_directory(tmp_path: Path) -> None:
    from migration_plan.toolbox.load.runner import resolve_locustfile

    found = resolve_locustfile(Path("loadtests/shop.py"), tmp_path)
    assert found.is_file() and found.name == "shop.py"
    with pytest.raises(LoadError, match="does not exist"):
        resolve_locustfile(Path("loadtests/nope.py"), tmp_path)


def test_failure_reasons_are_read_most_frequent_first(tmp_path: Path) -> None:
    path = tmp_path / "run_failures.csv"
    path.write_text(
        "Method,Name,Error,Occurrences\n"
        "POST,/accounts/login/ [POST],login as customer0003 failed (403),1\n"
        "GET,/api/orders,HTTPError('401 Client Error'),4\n"
    )
    reasons = read_failures_csv(path)
    assert [(r.name, r.occurrences) for r in reasons] == [("/api/orders", 4), ("/accounts/login/ [POST]", 1)]
    assert reasons[1].error == "login as customer0003 failed (403)"
    assert read_failures_csv(tmp_path / "absent.csv") == ()
