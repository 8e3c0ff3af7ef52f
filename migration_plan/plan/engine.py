"""The plan engine: status, advance one step (gates, diff, publish), roll back one step.

Every change is one whole-table publish through the admin API (``POST /api/v1/versions``) with the
plan step as the reason, so it is validated, compare-and-swapped and audited like any other.

    engine = PlanEngine(plan, admin, run_load=..., sync_lag=...)
    engine.status()                            -> PlanStatus
    engine.advance(stage=None, dry_run=False, force=False, allow_backwards=False) -> StepChange
    engine.rollback(stage=None, dry_run=False)             -> StepChange
    engine.adopt(dry_run=False)                            -> StepChange

The plan is the source of truth, reconciled with the live table: a route already past the step a stage
advances to stays where it is (``allow_backwards`` moves it back); a rule the live table orders so that
it can never match is explained with the fix; ``adopt`` rewrites hand-made rules as the plan defines
them (match and order; modes are kept) and explains what it cannot adopt.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from migration_plan.admin_client import AdminApiError, AdminClient
from migration_plan.plan.gates import GateInputs, GateResult, GateSourceError, evaluate_gates
from migration_plan.plan.model import LoadGate, Plan, PlanError, Stage
from migration_plan.plan.outcomes import PlanStatus, StageStatus, StepChange
from migration_plan.plan.state import (
    NOT_STARTED,
    StagePosition,
    apply_step,
    route_changes,
    stage_position,
)
from strangler_proxy.routes import RouteTable, Upstream

__all__ = ["PlanEngine", "PlanStatus", "StageStatus", "StepChange"]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SHADOWED = re.compile(r"rule '([^']+)' can never match: earlier rule '([^']+)'")


@dataclass
class PlanEngine:
    plan: Plan
    admin: AdminClient
    run_load: Callable[[LoadGate], tuple[bool, str]] | None = None
    sync_lag: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _registry: dict[str, Upstream] | None = field(default=None, repr=False)
    _pending: dict[str, Upstream] = field(default_factory=dict, repr=False)

    # ---- reads -------------------------------------------------------------------------------------

    def _active(self) -> tuple[int, RouteTable]:
        data = self.admin.request("GET", "/versions/active")
        return int(data["version"]), RouteTable.model_validate(data["table"])

    def _stats(self, window_s: int) -> list[Mapping[str, Any]]:
        try:
            return list(self.admin.request("GET", f"/stats?window={window_s}")["routes"])
        except AdminApiError as exc:
            raise GateSourceError(str(exc)) from exc

    def _inputs(self, *, with_load: bool) -> GateInputs:
        return GateInputs(
            stats=self._stats, run_load=self.run_load if with_load else None, sync_lag=self.sync_lag
        )

    def positions(self) -> tuple[int, list[StagePosition]]:
        version, table = self._active()
        return version, [stage_position(stage, table) for stage in self.plan.stages]

    def status(self) -> PlanStatus:
        version, positions = self.positions()
        inputs = self._inputs(with_load=False)
        stages = []
        for position in positions:
            following = position.next_step
            gates: list[GateResult] = []
            if following is not None and not position.off_plan:
                gates = evaluate_gates(following.gates, self._route_names(position.stage), inputs)
            stages.append(StageStatus(position, tuple(gates)))
        return PlanStatus(self.plan.name, version, tuple(stages))

    # ---- changes -----------------------------------------------------------------------------------

    def advance(
        self,
        stage: str | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        allow_backwards: bool = False,
    ) -> StepChange:
        """Move ``stage`` (default: the first unfinished one) one step up, if its gates pass.

        Routes of the stage already past that step stay where they are unless ``allow_backwards``.
        """
        version, table = self._active()
        position = self._pick(table, stage, for_advance=True)
        following = position.next_step
        if following is None:
            raise PlanError(f"stage {position.stage.name} is complete ({position.label})")
        target = position.index + 1
        gates = tuple(
            evaluate_gates(
                following.gates, self._route_names(position.stage), self._inputs(with_load=not dry_run)
            )
        )
        failing = [gate.gate for gate in gates if not gate.passed]
        reason = f"plan {self.plan.name}: stage {position.stage.name} {position.label} -> {following.label}"
        forced_past: tuple[str, ...] = ()
        if failing and force:
            forced_past = tuple(failing)
            reason += f" [forced past failing gates: {', '.join(failing)}]"
        candidate = apply_step(
            table,
            position.stage,
            target,
            self._upstream(position.stage, dry_run),
            earlier_rules=self._earlier_rules(position.stage),
            keep_ahead=not allow_backwards,
        )
        ahead = [r for r in position.routes if r.index > target and not r.off_plan]
        notes = tuple(
            f"{r.route} stays at {r.step_label(position.stage)}, ahead of the stage "
            f"(--allow-backwards moves it back to {following.label})"
            for r in ahead
            if not allow_backwards
        )
        change = StepChange(
            changes=route_changes(table, candidate, position.stage),
            stage=position.stage.name,
            before=position.label,
            after=following.label,
            reason=reason,
            diff={},
            gates=gates,
            forced_past=forced_past,
            dry_run=dry_run,
            notes=notes,
        )
        return self._publish(change, candidate, version, dry_run=dry_run or (bool(failing) and not force))

    def rollback(
        self,
        stage: str | None = None,
        *,
        dry_run: bool = False,
        why: str = "",
        force: bool = False,
        drain_timeout_s: float = 10.0,
    ) -> StepChange:
        """Move ``stage`` (default: the last one started) one step down; no gates.

        A stage that takes writes and has sync-lag gates moves data: the rollback first waits (up to
        ``drain_timeout_s``) for the sync backlog to drain, so no acknowledged write is stranded on the
        side losing the traffic; ``force`` rolls back at once, and the reason says so.
        """
        version, table = self._active()
        position = self._pick(table, stage, for_advance=False)
        if position.index == NOT_STARTED:
            raise PlanError(f"stage {position.stage.name} has not started: nothing to roll back")
        notes: tuple[str, ...] = ()
        if (
            not dry_run
            and _takes_writes(position.stage)
            and any(s.gates.sync_lag for s in position.stage.steps)
        ):
            drained, detail = self._drain(position.stage, drain_timeout_s)
            if not drained and not force:
                raise PlanError(
                    f"sync not drained after {drain_timeout_s:g} s ({detail}); "
                    "--force rolls back anyway (audited)"
                )
            if not drained:
                why = f"{why}; " if why else ""
                why += f"forced before sync drained: {detail}"
            notes = (f"sync: {detail}",)
        target = position.index - 1
        after = "not started" if target == NOT_STARTED else position.stage.steps[target].label
        reason = f"plan {self.plan.name}: rollback stage {position.stage.name} {position.label} -> {after}"
        if why:
            reason += f" ({why})"
        candidate = apply_step(
            table, position.stage, target, None, earlier_rules=self._earlier_rules(position.stage)
        )
        change = StepChange(
            changes=route_changes(table, candidate, position.stage),
            stage=position.stage.name,
            before=position.label,
            after=after,
            reason=reason,
            diff={},
            dry_run=dry_run,
            notes=notes,
        )
        return self._publish(change, candidate, version, dry_run=dry_run)

    def _drain(self, stage: Stage, timeout_s: float) -> tuple[bool, str]:
        """Wait for every sync direction the stage's gates name to have an empty backlog."""
        if self.sync_lag is None:
            return False, "no sync lag source"
        directions = {
            d for step in stage.steps if step.gates.sync_lag for d in step.gates.sync_lag.directions
        }
        deadline = self.clock() + timeout_s
        while True:
            try:
                lag = self.sync_lag()
            except GateSourceError as exc:
                detail = f"could not measure: {exc}"
            else:
                wanted = directions or set(lag)
                backlog = {d: int((lag.get(d) or {}).get("backlog") or 0) for d in sorted(wanted)}
                detail = ", ".join(f"{d} backlog {n}" for d, n in backlog.items()) or "no direction reported"
                if wanted and all(d in lag for d in wanted) and not any(backlog.values()):
                    return True, detail
            if self.clock() >= deadline:
                return False, detail
            self.sleep(0.25)

    def adopt(self, *, dry_run: bool = False) -> StepChange:
        """Bring hand-made rules into the plan: each plan route's match as the plan defines it, the rules
        in the plan's stage order (later stages first); modes are kept. What cannot be adopted (a mode no
        step describes, a rule the plan does not know) is explained in the notes and left alone."""
        version, table = self._active()
        owner = {spec.name: i for i, stage in enumerate(self.plan.stages) for spec in stage.routes}
        specs = {spec.name: spec for stage in self.plan.stages for spec in stage.routes}
        rules = [
            rule.model_copy(update={"match": specs[rule.name].match}) if rule.name in specs else rule
            for rule in table.rules
        ]
        keys: list[float] = []
        for i, rule in enumerate(rules):
            if rule.name in owner:
                keys.append(-owner[rule.name])
            else:
                following = [-owner[r.name] for r in rules[i + 1 :] if r.name in owner]
                keys.append(following[0] if following else float("inf"))
        ordered = [rule for _, _, rule in sorted(zip(keys, range(len(rules)), rules, strict=True))]
        candidate = RouteTable(upstreams=dict(table.upstreams), rules=tuple(ordered))
        notes: list[str] = []
        for stage in self.plan.stages:
            for route in stage_position(stage, table).off_plan:
                notes.append(
                    f"{route.route} is {route.state}, which no step of stage {stage.name} describes: "
                    f"flip it to one of {', '.join(s.label for s in stage.steps)} "
                    "(`strangler routes flip`), or add that step to the plan"
                )
        for rule in table.rules:
            if rule.name not in owner:
                notes.append(
                    f"rule {rule.name} is not in plan {self.plan.name}: kept as it is; add it to a stage "
                    "of the plan file to have the plan drive it"
                )
        changes: list[str] = []
        for stage in self.plan.stages:
            changes.extend(route_changes(table, candidate, stage))
        if [r.name for r in ordered] != [r.name for r in table.rules]:
            changes.append("order: " + ", ".join(r.name for r in ordered))
        change = StepChange(
            stage="*",
            before=f"version {version}",
            after="as the plan defines it",
            reason=f"plan {self.plan.name}: adopt the live table (matches and rule order as planned)",
            diff={},
            dry_run=dry_run,
            notes=tuple(notes),
            changes=tuple(changes),
        )
        if not changes:
            done = "nothing to adopt: the live rules are the plan's"
            return _replace(change, dry_run=True, notes=(*notes, done))
        return self._publish(change, candidate, version, dry_run=dry_run)

    # ---- helpers -----------------------------------------------------------------------------------

    def _earlier_rules(self, stage: Stage) -> frozenset[str]:
        """The rule names of the stages before ``stage`` (its new rules go in front of them)."""
        names: set[str] = set()
        for other in self.plan.stages:
            if other.name == stage.name:
                break
            names.update(spec.name for spec in other.routes)
        return frozenset(names)

    @staticmethod
    def _route_names(stage: Stage) -> list[str]:
        return [spec.name for spec in stage.routes]

    def _pick(self, table: RouteTable, name: str | None, *, for_advance: bool) -> StagePosition:
        positions = [stage_position(stage, table) for stage in self.plan.stages]
        if name is not None:
            chosen = stage_position(self.plan.stage(name), table)
        elif for_advance:
            unfinished = [p for p in positions if not p.complete]
            if not unfinished:
                raise PlanError(f"every stage of plan {self.plan.name} is complete")
            chosen = unfinished[0]
        else:
            started = [p for p in positions if p.index != NOT_STARTED or any(r.index >= 0 for r in p.routes)]
            if not started:
                raise PlanError(f"no stage of plan {self.plan.name} has started: nothing to roll back")
            chosen = started[-1]
        if chosen.off_plan:
            states = ", ".join(f"{r.route} is {r.state}" for r in chosen.off_plan)
            raise PlanError(
                f"stage {chosen.stage.name} is off plan ({states}): flip its routes to a plan step "
                f"({', '.join(s.label for s in chosen.stage.steps)}) with `strangler routes flip` first; "
                "`strangler plan adopt --dry-run` lists every difference"
            )
        return chosen

    def _upstream(self, stage: Stage, dry_run: bool) -> Upstream | None:
        if stage.upstream is None:
            return None
        if self._registry is None:
            items = self.admin.request("GET", "/upstreams")["upstreams"]
            self._registry = {item["name"]: Upstream.model_validate(item) for item in items}
        known = self._registry.get(stage.upstream)
        if known is not None:
            return known
        address = self.plan.upstreams.get(stage.upstream)
        if address is None:
            raise PlanError(
                f"upstream {stage.upstream!r} is not registered and the plan gives no address: "
                f"`strangler routes register {stage.upstream} http://HOST:PORT`"
            )
        if not dry_run:
            saved = self.admin.request("PUT", f"/upstreams/{stage.upstream}", {"url": address})
            known = Upstream.model_validate(saved)
            self._registry[stage.upstream] = known
            return known
        pending = Upstream(name=stage.upstream, url=address)
        self._pending[stage.upstream] = pending
        return pending

    def _publish(
        self, change: StepChange, candidate: RouteTable, version: int, *, dry_run: bool
    ) -> StepChange:
        body = {
            "table": candidate.model_dump(mode="json"),
            "expected_version": version,
            "reason": change.reason,
            "dry_run": True,
        }
        preview = self.admin.request("POST", "/versions", body)
        # A dry run does not register the plan's upstreams; the real advance does, before publishing.
        unregistered = {f"upstream {name!r} is not registered": u for name, u in self._pending.items()}
        problems = tuple(p for p in preview.get("problems") or () if p not in unregistered)
        notes = tuple(
            f"upstream {u.name} is not registered yet: advance registers it at {u.url}"
            for p, u in unregistered.items()
            if p in (preview.get("problems") or ())
        )
        notes += tuple(_explain(problem, self.plan) for problem in problems if _SHADOWED.search(problem))
        change = _replace(change, diff=preview["diff"], problems=problems, notes=change.notes + notes)
        if dry_run or problems:
            return change
        published = self.admin.request("POST", "/versions", {**body, "dry_run": False})
        return _replace(change, published=published)


def _explain(problem: str, plan: Plan) -> str:
    """What to do about a rule that can never match because an earlier rule takes its requests."""
    found = _SHADOWED.search(problem)
    assert found is not None
    hidden, first = found.groups()
    owner = {spec.name: stage.name for stage in plan.stages for spec in stage.routes}

    def who(name: str) -> str:
        return f"stage {owner[name]}" if name in owner else "no stage of the plan (made by hand)"

    return (
        f"{hidden} ({who(hidden)}) comes after {first} ({who(first)}), which takes every request it would: "
        f"{hidden} must come first. `strangler plan adopt` puts the rules in the plan's stage order "
        f"(later stages first); or move it with `strangler routes apply` (position: 0)"
    )


def _takes_writes(stage: Stage) -> bool:
    """Whether any route of the stage lets writes through (so the new side may hold unsynced writes)."""
    return any(spec.match.methods is None or spec.match.methods & UNSAFE_METHODS for spec in stage.routes)


def _replace(change: StepChange, **update: Any) -> StepChange:
    return replace(change, **update)
