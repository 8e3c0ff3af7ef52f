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
    WriteFence,
)
from strangler_proxy.routes.validation import (
    NEVER_COMPARED_HEADERS,
    RouteTableInvalid,
    covers,
    table_problems,
    validate_table,
)

__all__ = [
    "LEGACY",
    "NEVER_COMPARED_HEADERS",
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
    "WriteFence",
    "covers",
    "table_problems",
    "validate_table",
]
