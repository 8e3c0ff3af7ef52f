"""Who owns a route's writes: the one definition every front door and the control plane use.

One side takes a route's writes at a time, so no row is ever written on both sides at once (two
writers would race the sync and collide on ids). By mode:

=========  ======================================  =================================================
mode       reads (GET, HEAD, OPTIONS, TRACE)       writes (every other method)
=========  ======================================  =================================================
legacy     the legacy                              the legacy
shadow     the legacy (a sample mirrored)          the legacy (mirrored only with
                                                   ``mirror_unsafe_methods``; the copy's answer is
                                                   discarded)
canary     split by the user's sticky bucket       the legacy, whatever the weight
new        the new upstream                        the new upstream
=========  ======================================  =================================================

A canary tries the new upstream's reads on a share of the users while the legacy stays the one writer:
``legacy -> canary`` moves no writes, and the write handover happens when the route flips fully to
new (``canary -> new``), or back (``new -> canary`` or ``new -> legacy``).

Stdlib and the route model only: this module is part of the shared core.
"""

from __future__ import annotations

from strangler_proxy.routes.model import LEGACY, ActionMode, Rule

__all__ = ["SAFE_METHODS", "UNSAFE_METHODS", "is_safe_method", "write_owner"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Reads: split by a canary's weight, mirrored on every shadow rule (the others only with
``mirror_unsafe_methods``), let through a write fence. Any other method goes to the write owner."""
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""The methods that make a rule a writing one (a rule limited to none of them is read-only)."""


def is_safe_method(method: str) -> bool:
    """True for a read (the canary weight applies to it); False for anything that may write."""
    return method in SAFE_METHODS


def write_owner(rule: Rule | None) -> str | None:
    """The side that takes ``rule``'s writes: its new upstream, ``legacy``, or None for a read-only rule.

    Only mode new gives the writes to the new upstream; legacy, shadow and canary keep them on the
    legacy. No rule (removed, or not there yet) leaves the path's writes with the legacy.
    """
    if rule is None:
        return LEGACY
    methods = rule.match.methods
    if methods is not None and not methods & UNSAFE_METHODS:
        return None
    if rule.action.mode is ActionMode.NEW and rule.action.upstream:
        return rule.action.upstream
    return LEGACY
