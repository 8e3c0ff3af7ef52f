"""Differences between two route tables: per rule and per upstream, plus a unified text diff."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from strangler_proxy.routes import RouteTable

__all__ = ["TableDiff", "diff_tables"]


@dataclass(frozen=True)
class TableDiff:
    before: int | None
    after: int | None
    added_rules: list[str] = field(default_factory=list)
    removed_rules: list[str] = field(default_factory=list)
    changed_rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    """rule name -> {"before": {...}, "after": {...}}"""
    reordered: bool = False
    added_upstreams: list[str] = field(default_factory=list)
    removed_upstreams: list[str] = field(default_factory=list)
    changed_upstreams: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (
            self.added_rules
            or self.removed_rules
            or self.changed_rules
            or self.reordered
            or self.added_upstreams
            or self.removed_upstreams
            or self.changed_upstreams
        )

    def summary(self) -> str:
        parts = []
        for label, names in (
            ("added", self.added_rules),
            ("removed", self.removed_rules),
            ("changed", list(self.changed_rules)),
        ):
            if names:
                parts.append(f"{label} {', '.join(names)}")
        if self.reordered:
            parts.append("rules reordered")
        for label, names in (
            ("upstream added", self.added_upstreams),
            ("upstream removed", self.removed_upstreams),
            ("upstream changed", self.changed_upstreams),
        ):
            if names:
                parts.append(f"{label} {', '.join(names)}")
        return "; ".join(parts) or "no change"

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "summary": self.summary(),
            "added_rules": self.added_rules,
            "removed_rules": self.removed_rules,
            "changed_rules": self.changed_rules,
            "reordered": self.reordered,
            "added_upstreams": self.added_upstreams,
            "removed_upstreams": self.removed_upstreams,
            "changed_upstreams": self.changed_upstreams,
            "text": self.text,
        }


def _document(table: RouteTable) -> dict[str, Any]:
    data = table.model_dump(mode="json", exclude={"version"})
    for rule in data["rules"]:
        methods = rule["match"].get("methods")
        if methods is not None:
            rule["match"]["methods"] = sorted(methods)
    return data


def diff_tables(before: RouteTable, after: RouteTable) -> TableDiff:
    a, b = _document(before), _document(after)
    rules_a = {r["name"]: r for r in a["rules"]}
    rules_b = {r["name"]: r for r in b["rules"]}
    common = [n for n in rules_a if n in rules_b]
    order_b = [n for n in rules_b if n in rules_a]
    text = "\n".join(
        difflib.unified_diff(
            json.dumps(a, indent=2, sort_keys=True).splitlines(),
            json.dumps(b, indent=2, sort_keys=True).splitlines(),
            fromfile=f"v{before.version}",
            tofile=f"v{after.version}" if after.version else "candidate",
            lineterm="",
        )
    )
    return TableDiff(
        before=before.version or None,
        after=after.version or None,
        added_rules=[n for n in rules_b if n not in rules_a],
        removed_rules=[n for n in rules_a if n not in rules_b],
        changed_rules={
            n: {"before": rules_a[n], "after": rules_b[n]} for n in common if rules_a[n] != rules_b[n]
        },
        reordered=common != order_b,
        added_upstreams=sorted(set(b["upstreams"]) - set(a["upstreams"])),
        removed_upstreams=sorted(set(a["upstreams"]) - set(b["upstreams"])),
        changed_upstreams=sorted(
            n for n in set(a["upstreams"]) & set(b["upstreams"]) if a["upstreams"][n] != b["upstreams"][n]
        ),
        text=text,
    )
