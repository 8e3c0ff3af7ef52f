"""A route table compiled for the hot path: match, then choose the side (canary, shadow, override).

Choosing the side, once a rule matched:

- ``legacy``: the legacy answers.
- ``new``: the rule's upstream answers.
- ``canary``: for a read (GET, HEAD, OPTIONS, TRACE) the user's sticky bucket decides (see
  :mod:`.canary`); a bucket cookie is set when the request had none. Every other method goes to the
  rule's write owner (:func:`strangler_proxy.routes.ownership.write_owner`: the legacy until the route
  is new), whatever the weight: a canary never has two writers.
- ``shadow``: the legacy answers; a sampled share (``sample_percent``) of the requests is also
  mirrored to the rule's upstream. POST/PUT/PATCH/DELETE are mirrored only when the rule sets
  ``mirror_unsafe_methods``.
- A valid tester override (header ``x-strangler-override`` first, else cookie ``strangler_override``;
  format in :mod:`strangler_proxy.override`) forces its side on rules whose action has a new
  upstream (new, canary, shadow) and turns mirroring off for that request: a tester's traffic is not
  a sample of real traffic. Legacy rules and unmatched requests stay on the legacy.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from strangler_proxy.dataplane.routing.canary import CanaryKeys
from strangler_proxy.dataplane.routing.decision import UNMATCHED_DECISION, Decision, Target
from strangler_proxy.dataplane.routing.matcher import Matcher
from strangler_proxy.dataplane.routing.request import RequestView
from strangler_proxy.keyring import KeyRing
from strangler_proxy.override import OVERRIDE_COOKIE, OVERRIDE_HEADER, verify_override_keys
from strangler_proxy.routes.canary import DEFAULT_SESSION_COOKIE, bucket_of, on_new_side
from strangler_proxy.routes.model import LEGACY, ActionMode, RouteTable, Rule
from strangler_proxy.routes.ownership import SAFE_METHODS, write_owner

__all__ = ["SAFE_METHODS", "CompiledTable", "compile_table"]

_OVERRIDE_HEADER = OVERRIDE_HEADER.encode("ascii")
_COOKIE = b"cookie"


class _RuleDecisions:
    """The precomputed decisions of one rule (all but the canary ones that carry a cookie)."""

    __slots__ = (
        "forced_legacy",
        "forced_new",
        "legacy",
        "mode",
        "new",
        "rule",
        "shadow",
        "weight",
        "writes",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.mode = rule.action.mode
        name, upstream = rule.name, rule.action.upstream or LEGACY
        self.legacy = Decision(route=name, rule=rule, target=Target.LEGACY, upstream=LEGACY)
        self.new = Decision(route=name, rule=rule, target=Target.NEW, upstream=upstream)
        self.shadow = Decision(
            route=name, rule=rule, target=Target.LEGACY, upstream=LEGACY, shadow_upstream=upstream
        )
        self.forced_legacy = Decision(
            route=name, rule=rule, target=Target.LEGACY, upstream=LEGACY, overridden=True
        )
        self.forced_new = Decision(
            route=name, rule=rule, target=Target.NEW, upstream=upstream, overridden=True
        )
        self.weight = rule.action.weight
        owner = write_owner(rule)
        self.writes = self.new if owner is not None and owner != LEGACY else self.legacy
        """Where a canary's non-read requests go: its write owner."""


class CompiledTable:
    """An immutable, compiled route table; build it with :func:`compile_table` once per version."""

    __slots__ = ("_canary_keys", "_clock", "_decisions", "_matcher", "_override_key", "_random", "table")

    def __init__(
        self,
        table: RouteTable,
        *,
        override_key: bytes | KeyRing | None,
        canary_keys: CanaryKeys,
        clock: Callable[[], float],
        rng: Callable[[], float],
    ) -> None:
        self.table = table
        self._matcher = Matcher(table.rules)
        self._decisions = tuple(_RuleDecisions(rule) for rule in table.rules)
        self._override_key = KeyRing.of(override_key) if override_key else None
        self._canary_keys = canary_keys
        self._clock = clock
        self._random = rng

    @property
    def version(self) -> int:
        return self.table.version

    def decide(self, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Decision:
        """Route one request: ``headers`` are the ORIGINAL raw ASGI headers (lower-case names)."""
        request = RequestView(headers)
        compiled = self._matcher.match(method, path, request)
        if compiled is None:
            return UNMATCHED_DECISION
        decisions = self._decisions[compiled.index]
        mode = decisions.mode
        if mode is ActionMode.LEGACY:
            return decisions.legacy
        if self._override_key is not None:
            side = self._override_side(request)
            if side is not None:
                return decisions.forced_new if side == "new" else decisions.forced_legacy
        if mode is ActionMode.NEW:
            return decisions.new
        if mode is ActionMode.CANARY:
            return self._canary(decisions, request, method)
        return self._shadow(decisions, method)

    def _override_side(self, request: RequestView) -> str | None:
        # One pass: the header if present, else the cookie, parsed only when there is a Cookie header.
        raw = None
        cookies = False
        for key, value in request.headers:
            if key == _OVERRIDE_HEADER:
                raw = value
                break
            if key == _COOKIE:
                cookies = True
        if raw is not None:
            token: str | None = raw.decode("latin-1")
        elif cookies:
            token = request.cookie(OVERRIDE_COOKIE)
        else:
            return None
        if not token:
            return None
        ring = self._override_key
        if ring is None:
            return None
        now = self._clock()
        return verify_override_keys(ring.verifying(now), token, now)

    def _canary(self, decisions: _RuleDecisions, request: RequestView, method: str) -> Decision:
        key, set_cookie = self._canary_keys.resolve(request)
        if method not in SAFE_METHODS:
            base = decisions.writes  # one writer: the weight splits reads only
        elif on_new_side(bucket_of(key), decisions.weight):
            base = decisions.new
        else:
            base = decisions.legacy
        if set_cookie is None:
            return base
        return Decision(
            route=base.route,
            rule=base.rule,
            target=base.target,
            upstream=base.upstream,
            set_cookie=set_cookie,
        )

    def _shadow(self, decisions: _RuleDecisions, method: str) -> Decision:
        settings = decisions.rule.action.shadow
        if method not in SAFE_METHODS and not settings.mirror_unsafe_methods:
            return decisions.legacy
        percent = settings.sample_percent
        if percent >= 100 or (percent > 0 and self._random() * 100 < percent):
            return decisions.shadow
        return decisions.legacy


def compile_table(
    table: RouteTable,
    *,
    override_key: bytes | KeyRing | None = None,
    session_cookie: str = DEFAULT_SESSION_COOKIE,
    clock: Callable[[], float] = time.time,
    rng: Callable[[], float] = random.random,
    new_bucket_key: Callable[[], str] | None = None,
) -> CompiledTable:
    """Compile ``table`` (already validated by the control plane) for :meth:`CompiledTable.decide`.

    ``override_key`` (a key, or a ring verifying the previous key during a rotation) enables tester
    overrides (None: every override is ignored); ``session_cookie``
    is the monolith's session cookie name; ``clock``, ``rng`` and ``new_bucket_key`` are seams for tests.
    Raises ``re.error`` when a pattern does not compile.
    """
    keys = (
        CanaryKeys(session_cookie=session_cookie)
        if new_bucket_key is None
        else CanaryKeys(session_cookie=session_cookie, new_key=new_bucket_key)
    )
    return CompiledTable(table, override_key=override_key, canary_keys=keys, clock=clock, rng=rng)
