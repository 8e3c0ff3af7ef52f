"""An in-memory admin API: the few /api/v1 calls the plan engine makes, with versions and an audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migration_plan.admin_client import AdminApiError
from strangler_proxy.routes import RouteTable, Upstream
from strangler_proxy.routes.validation import table_problems

__all__ = ["FakeAdmin"]


@dataclass
class FakeAdmin:
    registry: dict[str, str] = field(default_factory=dict)
    stats: list[dict[str, Any]] = field(default_factory=list)
    versions: list[RouteTable] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.versions:
            self.versions.append(
                RouteTable(
                    version=1, upstreams={"legacy": Upstream(name="legacy", url="http://127.0.0.1:8100")}
                )
            )
            self.reasons.append("initial")

    @property
    def active(self) -> RouteTable:
        return self.versions[-1]

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.calls.append((method, path))
        if (method, path) == ("GET", "/versions/active"):
            return {
                "version": self.active.version,
                "active": True,
                "table": self.active.model_dump(mode="json"),
            }
        if method == "GET" and path.startswith("/stats"):
            return {"version": self.active.version, "routes": self.stats}
        if (method, path) == ("GET", "/upstreams"):
            return {"upstreams": [{"name": n, "url": u} for n, u in self.registry.items()]}
        if method == "PUT" and path.startswith("/upstreams/"):
            name = path.rsplit("/", 1)[1]
            self.registry[name] = body["url"]
            return {"name": name, "url": body["url"]}
        if (method, path) == ("POST", "/versions"):
            return self._publish(body or {})
        raise AssertionError(f"unexpected call {method} {path}")

    def _publish(self, body: dict[str, Any]) -> dict[str, Any]:
        table = RouteTable.model_validate(body["table"])
        problems = [
            f"upstream {name!r} is not registered"
            for name in table.upstreams
            if name != "legacy" and name not in self.registry
        ]
        problems += [p for p in table_problems(table) if "can never match" in p]
        before = {r.name: r for r in self.active.rules}
        added = [r.name for r in table.rules if r.name not in before]
        changed = [r.name for r in table.rules if r.name in before and before[r.name] != r]
        diff = {
            "summary": f"added {added} changed {changed}",
            "text": "",
            "added_rules": added,
            "changed_rules": changed,
        }
        if body.get("dry_run"):
            return {"dry_run": True, "diff": diff, "problems": problems, "valid": not problems}
        if problems:
            raise AdminApiError("refused (422)", 422)
        if body["expected_version"] != self.active.version:
            raise AdminApiError("conflict (409)", 409)
        previous = self.active.version
        self.versions.append(table.with_version(previous + 1))
        self.reasons.append(body["reason"])
        return {
            "version": previous + 1,
            "previous_version": previous,
            "generation": previous + 1,
            "diff": diff,
        }
