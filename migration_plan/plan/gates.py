"""Gate checks: each turns live figures (stats, a load run, sync lag) into a pass/fail with the reason.

The figures come from providers passed in (``GateInputs``), so the checks are pure and the engine
decides where the numbers come from: the admin API, a locust subprocess, ``python -m acl.sync lag``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migration_plan.plan.model import Gates, HealthGate, LoadGate, ShadowGate, SyncLagGate

__all__ = [
    "GateInputs",
    "GateResult",
    "GateSourceError",
    "check_health",
    "check_load",
    "check_shadow",
    "check_sync_lag",
    "evaluate_gates",
]

RouteFigures = Sequence[Mapping[str, Any]]


class GateSourceError(Exception):
    """A provider could not deliver its figures (API down, lag command failed)."""


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    detail: str
    skipped: bool = False
    """Not evaluated (e.g. a load run during `status`); a skipped gate is not a pass."""

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "passed": self.passed, "skipped": self.skipped, "detail": self.detail}


@dataclass
class GateInputs:
    """Where gate figures come from. ``run_load`` returns (passed, detail); ``sync_lag`` the lag JSON."""

    stats: Callable[[int], RouteFigures]
    run_load: Callable[[LoadGate], tuple[bool, str]] | None = None
    sync_lag: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None
    _stats_cache: dict[int, RouteFigures] = field(default_factory=dict)

    def route_figures(self, window_s: int) -> RouteFigures:
        if window_s not in self._stats_cache:
            self._stats_cache[window_s] = self.stats(window_s)
        return self._stats_cache[window_s]


def _pick(figures: RouteFigures, routes: Sequence[str]) -> list[Mapping[str, Any]]:
    wanted = set(routes)
    return [entry for entry in figures if entry.get("route") in wanted]


def check_shadow(gate: ShadowGate, figures: RouteFigures, routes: Sequence[str]) -> GateResult:
    matches = mismatches = errors = 0
    for entry in _pick(figures, routes):
        shadow = entry.get("shadow") or {}
        matches += int(shadow.get("matches") or 0)
        mismatches += int(shadow.get("mismatches") or 0)
        errors += int(shadow.get("errors") or 0)
    samples = matches + mismatches + errors
    if samples < gate.min_samples:
        return GateResult("shadow", False, f"{samples} shadow samples, need {gate.min_samples}")
    parity = matches / samples if samples else 1.0
    detail = f"parity {parity:.2%} over {samples} samples (need {gate.min_parity:.2%})"
    return GateResult("shadow", parity >= gate.min_parity, detail)


def _side(entries: Sequence[Mapping[str, Any]], side: str) -> tuple[int, int, float | None]:
    requests = sum(int(e[side].get("requests") or 0) for e in entries)
    errors = sum(int(e[side].get("status_5xx") or 0) for e in entries)
    p99s = [float(e[side]["p99_ms"]) for e in entries if e[side].get("p99_ms") is not None]
    return requests, errors, (max(p99s) if p99s else None)


def check_health(gate: HealthGate, figures: RouteFigures, routes: Sequence[str]) -> GateResult:
    """New side's 5xx rate and p99 against the legacy's, summed over the stage's routes."""
    entries = _pick(figures, routes)
    new_requests, new_errors, new_p99 = _side(entries, "new")
    legacy_requests, legacy_errors, legacy_p99 = _side(entries, "legacy")
    if new_requests < gate.min_requests:
        return GateResult(
            "health", False, f"{new_requests} requests on the new side, need {gate.min_requests}"
        )
    new_rate = new_errors / new_requests
    legacy_rate = legacy_errors / legacy_requests if legacy_requests else 0.0
    problems = []
    if new_rate > gate.max_5xx_rate:
        problems.append(f"5xx {new_rate:.2%} > {gate.max_5xx_rate:.2%}")
    if new_rate > legacy_rate + gate.max_5xx_rate_over_legacy:
        problems.append(f"5xx {new_rate:.2%} vs legacy {legacy_rate:.2%}")
    if new_p99 is not None and legacy_p99 is not None:
        ceiling = legacy_p99 * gate.max_p99_ratio + gate.p99_slack_ms
        if new_p99 > ceiling:
            problems.append(f"p99 {new_p99:g} ms > {ceiling:g} ms (legacy {legacy_p99:g} ms)")
    if new_p99 is not None and gate.max_p99_ms is not None and new_p99 > gate.max_p99_ms:
        problems.append(f"p99 {new_p99:g} ms > {gate.max_p99_ms:g} ms")
    summary = (
        f"new 5xx {new_rate:.2%} p99 {_ms(new_p99)} over {new_requests} requests; "
        f"legacy 5xx {legacy_rate:.2%} p99 {_ms(legacy_p99)}"
    )
    if problems:
        return GateResult("health", False, "; ".join(problems) + f" ({summary})")
    return GateResult("health", True, summary)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


def check_load(gate: LoadGate, run: Callable[[LoadGate], tuple[bool, str]] | None) -> GateResult:
    if run is None:
        return GateResult("load", False, "not run here (runs on advance)", skipped=True)
    passed, detail = run(gate)
    return GateResult("load", passed, detail)


def check_sync_lag(gate: SyncLagGate, lag: Mapping[str, Mapping[str, Any]]) -> GateResult:
    directions = list(gate.directions) or sorted(lag)
    if not directions:
        return GateResult("sync_lag", False, "no sync lag reported")
    problems, parts = [], []
    for direction in directions:
        figure = lag.get(direction)
        if figure is None:
            problems.append(f"{direction}: not reported")
            continue
        lag_ms, backlog = float(figure.get("lag_ms") or 0.0), int(figure.get("backlog") or 0)
        parts.append(f"{direction} {lag_ms:g} ms backlog {backlog}")
        if lag_ms > gate.max_lag_ms:
            problems.append(f"{direction} lag {lag_ms:g} ms > {gate.max_lag_ms:g} ms")
        if backlog > gate.max_backlog:
            problems.append(f"{direction} backlog {backlog} > {gate.max_backlog}")
    if problems:
        return GateResult("sync_lag", False, "; ".join(problems))
    return GateResult("sync_lag", True, ", ".join(parts))


def evaluate_gates(gates: Gates, routes: Sequence[str], inputs: GateInputs) -> list[GateResult]:
    """Every gate of a step, in a fixed order; a provider that fails makes its gate fail, with the reason."""
    results: list[GateResult] = []
    checks: list[tuple[str, Callable[[], GateResult]]] = []
    if gates.shadow is not None:
        shadow = gates.shadow
        checks.append(("shadow", lambda: check_shadow(shadow, inputs.route_figures(gates.window_s), routes)))
    if gates.health is not None:
        health = gates.health
        checks.append(("health", lambda: check_health(health, inputs.route_figures(gates.window_s), routes)))
    if gates.sync_lag is not None:
        sync = gates.sync_lag
        provider = inputs.sync_lag
        if provider is None:
            checks.append(("sync_lag", lambda: GateResult("sync_lag", False, "no lag source", skipped=True)))
        else:
            checks.append(("sync_lag", lambda: check_sync_lag(sync, provider())))
    if gates.load is not None:
        load = gates.load
        checks.append(("load", lambda: check_load(load, inputs.run_load)))
    for name, check in checks:
        if name == "load" and any(not r.passed for r in results):
            # A load run takes minutes: not worth it while a cheaper gate already says no.
            results.append(GateResult("load", False, "not run: an earlier gate failed", skipped=True))
            continue
        try:
            results.append(check())
        except GateSourceError as exc:
            results.append(GateResult(name, False, f"could not measure: {exc}"))
    return results
