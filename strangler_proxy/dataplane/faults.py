"""Fault injection for drills: delay and/or abort a share of a route's requests to one side.

An injected abort behaves like the upstream answering that status without being contacted: it counts
against the upstream's breaker when it is a 5xx, and a GET/HEAD to a new upstream falls back to the
legacy when the route allows it. Randomness comes from a function passed in so tests can pin it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from strangler_proxy.dataplane.errors import InjectedFault
from strangler_proxy.routes import FaultInjection

__all__ = ["apply_fault", "fault_applies"]


def fault_applies(fault: FaultInjection | None, target: str) -> bool:
    return fault is not None and (fault.target == "both" or fault.target == target)


async def apply_fault(
    fault: FaultInjection, *, upstream: str, chance: Callable[[], float] = random.random
) -> None:
    """Sleep and/or raise :class:`InjectedFault` for ``fault.percent`` percent of the calls."""
    if fault.percent < 100 and chance() * 100 >= fault.percent:
        return
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.abort_status is not None:
        raise InjectedFault(fault.abort_status, upstream=upstream)
