"""What each front door can serve of a route table.

The Python data plane serves every feature of the model. An engine fed the table (HAProxy, see
``strangler_proxy.engines.haproxy``) routes, splits canaries, honours tester overrides, falls back and
trips like the data plane, but some features live only in Python; a table using them is refused at
publish time when the control plane runs in front of that engine (``STRANGLER_ENGINE``), each problem
naming the feature. The engine itself serves such a table without the feature and says so in its log
(a shadow rule answers from the legacy, as it does anyway, and mirrors nothing; a fault is not injected).

Stdlib and the route model only: this module is part of the shared core.
"""

from __future__ import annotations

import re
from typing import Literal

from strangler_proxy.routes.model import ActionMode, RouteTable

__all__ = ["FRONT_DOORS", "FrontDoor", "front_door_problems"]

FrontDoor = Literal["dataplane", "haproxy"]
FRONT_DOORS: tuple[FrontDoor, ...] = ("dataplane", "haproxy")

_NAME = re.compile(r"[A-Za-z0-9_.-]+")
"""The header and cookie names an engine's configuration carries as they are (real ones all fit)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def front_door_problems(table: RouteTable, front_door: FrontDoor) -> list[str]:
    """Every reason ``front_door`` cannot serve ``table`` as written; empty when it can."""
    if front_door == "dataplane":
        return []
    problems: list[str] = []
    for rule in table.rules:
        where = f"rule {rule.name!r}"
        if rule.action.mode is ActionMode.SHADOW:
            problems.append(
                f"{where}: shadow mode (mirroring to {rule.action.upstream!r} and comparing the answers) "
                f"runs only in the Python data plane; the {front_door} engine cannot serve it "
                "(use canary or new, or run the data plane)"
            )
        if rule.fault is not None:
            problems.append(
                f"{where}: fault injection (drills) is applied only by the Python data plane; "
                f"the {front_door} engine cannot apply it"
            )
        for kind, predicates in (("header", rule.match.headers), ("cookie", rule.match.cookies)):
            for predicate in predicates:
                if not _NAME.fullmatch(predicate.name):
                    problems.append(
                        f"{where}: {kind} name {predicate.name!r} holds characters other than letters, "
                        f"digits, '.', '_' and '-', which the {front_door} engine cannot match on"
                    )
                if predicate.equals is not None and _CONTROL.search(predicate.equals):
                    problems.append(
                        f"{where}: the value of {kind} {predicate.name!r} holds control characters, "
                        f"which no request carries; the {front_door} engine refuses it"
                    )
    return problems
