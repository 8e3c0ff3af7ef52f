"""The immutable route-table model and its validation, shared by the data plane and the control plane."""

from strangler_proxy.routes.model import (
    LEGACY,
    ActionMode,
    BreakerSettings,
    FaultInjection,
    MatchKind,
    Predicate,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    ShadowSettings,
    Timeouts,
    Upstream,
)
from strangler_proxy.routes.validation import RouteTableInvalid, table_problems, validate_table

__all__ = [
    "LEGACY",
    "ActionMode",
    "BreakerSettings",
    "FaultInjection",
    "MatchKind",
    "Predicate",
    "RouteTable",
    "RouteTableInvalid",
    "Rule",
    "RuleAction",
    "RuleMatch",
    "ShadowSettings",
    "Timeouts",
    "Upstream",
    "table_problems",
    "validate_table",
]
