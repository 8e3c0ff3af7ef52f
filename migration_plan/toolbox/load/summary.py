"""Locust's ``_stats.csv`` read into figures, and the run's summary with its threshold checks."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["EndpointFigures", "FailureReason", "LoadSummary", "read_failures_csv", "read_stats_csv"]


def _number(value: str | None) -> float:
    if value is None or value in ("", "N/A"):
        return 0.0
    return float(value)


@dataclass(frozen=True)
class EndpointFigures:
    method: str
    name: str
    requests: int
    failures: int
    rps: float
    median_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @classmethod
    def from_row(cls, row: dict[str, str]) -> EndpointFigures:
        return cls(
            method=row.get("Type") or "",
            name=row["Name"],
            requests=int(_number(row["Request Count"])),
            failures=int(_number(row["Failure Count"])),
            rps=round(_number(row["Requests/s"]), 2),
            median_ms=round(_number(row["Median Response Time"]), 1),
            p95_ms=round(_number(row["95%"]), 1),
            p99_ms=round(_number(row["99%"]), 1),
            max_ms=round(_number(row["Max Response Time"]), 1),
        )


@dataclass(frozen=True)
class FailureReason:
    """One row of locust's ``_failures.csv``: what failed, why, how often."""

    method: str
    name: str
    error: str
    occurrences: int


def read_failures_csv(path: Path) -> tuple[FailureReason, ...]:
    """Every failure reason locust recorded, most frequent first; none when the file is absent."""
    if not path.is_file():
        return ()
    with open(path, newline="", encoding="utf-8") as handle:
        reasons = [
            FailureReason(
                method=row.get("Method") or "",
                name=row.get("Name") or "",
                error=row.get("Error") or "",
                occurrences=int(_number(row.get("Occurrences"))),
            )
            for row in csv.DictReader(handle)
        ]
    return tuple(sorted(reasons, key=lambda r: -r.occurrences))


def read_stats_csv(path: Path) -> tuple[EndpointFigures, list[EndpointFigures]]:
    """The ``Aggregated`` row and one row per endpoint."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    aggregate = None
    endpoints = []
    for row in rows:
        figures = EndpointFigures.from_row(row)
        if row["Name"] == "Aggregated":
            aggregate = figures
        else:
            endpoints.append(figures)
    if aggregate is None:
        raise ValueError(f"{path} has no Aggregated row")
    return aggregate, endpoints


@dataclass(frozen=True)
class LoadSummary:
    host: str
    locustfile: str
    users: int
    run_time_s: int
    requests: int
    failures: int
    error_rate: float
    rps: float
    median_ms: float
    p95_ms: float
    p99_ms: float
    endpoints: tuple[EndpointFigures, ...]
    failure_reasons: tuple[FailureReason, ...]
    max_error_rate: float | None
    max_p95_ms: float | None
    problems: tuple[str, ...]
    csv_prefix: str
    json_path: str

    @property
    def passed(self) -> bool:
        return not self.problems

    @classmethod
    def build(
        cls,
        *,
        aggregate: EndpointFigures,
        endpoints: Sequence[EndpointFigures],
        failure_reasons: Sequence[FailureReason] = (),
        max_error_rate: float | None,
        max_p95_ms: float | None,
        **fields: Any,
    ) -> LoadSummary:
        problems = []
        if aggregate.requests == 0:
            problems.append("no request was made")
        if max_error_rate is not None and aggregate.error_rate > max_error_rate:
            problems.append(f"error rate {aggregate.error_rate:.2%} > {max_error_rate:.2%}")
        if max_p95_ms is not None and aggregate.p95_ms > max_p95_ms:
            problems.append(f"p95 {aggregate.p95_ms:g} ms > {max_p95_ms:g} ms")
        return cls(
            requests=aggregate.requests,
            failures=aggregate.failures,
            error_rate=round(aggregate.error_rate, 5),
            rps=aggregate.rps,
            median_ms=aggregate.median_ms,
            p95_ms=aggregate.p95_ms,
            p99_ms=aggregate.p99_ms,
            endpoints=tuple(endpoints),
            failure_reasons=tuple(failure_reasons),
            max_error_rate=max_error_rate,
            max_p95_ms=max_p95_ms,
            problems=tuple(problems),
            **fields,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["endpoints"] = [asdict(e) | {"error_rate": round(e.error_rate, 5)} for e in self.endpoints]
        data["problems"] = list(self.problems)
        data["failure_reasons"] = [asdict(r) for r in self.failure_reasons]
        return data
