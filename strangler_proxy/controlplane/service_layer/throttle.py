"""The login throttle: limits per client address and per user name, with backoff, that never lock the
rightful user out for good.

    attempt = throttle.reserve(username, address)    # 429 (TooManyRequests) when either is locked
    ... check the password (slow: argon2) ...
    throttle.settle(attempt, succeeded=...)

- **Reserved before hashing.** ``reserve`` counts the attempt as a failure at once, under a lock, so
  concurrent guesses see each other: with a limit of 10, 60 simultaneous wrong passwords get 10 hashes
  and 50 answers of 429. ``settle`` takes the reservation back when the password was right.
- **Per address** (``per_address`` failures within ``window_s``): an address over its limit is locked
  for ``base_lock_s``, doubled at each further lock up to ``max_lock_s``, whatever user name it tries.
- **Per user name** (``per_username`` failures within ``window_s``, same backoff): a locked name is
  refused to every address that has failed before, but **an address with no failures may still try it**,
  so the right password from a clean address opens a session during an attack on that name (each such
  try is counted against the address: one wrong guess makes it a failing address). A right password
  clears the name's failures and lock.
- **Bounded memory.** At most ``max_keys`` addresses and names are kept, least recently seen evicted
  first; keys with nothing recent are dropped as they age out. User names are capped before they get
  here (``LoginBody``), and a name outside the allowed alphabet is counted under one shared key.

State lives in the control plane's memory: a restart clears it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from strangler_proxy.controlplane.errors import TooManyRequests

__all__ = ["Attempt", "LoginThrottle"]


@dataclass
class _Key:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    strikes: int = 0
    last_seen: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """One reserved login attempt: settle it once the password was checked."""

    username: str
    address: str
    at: float


class LoginThrottle:
    def __init__(
        self,
        *,
        per_address: int = 10,
        per_username: int = 10,
        window_s: float = 300.0,
        base_lock_s: float = 60.0,
        max_lock_s: float = 3600.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.per_username = per_username
        self.window_s = window_s
        self.base_lock_s = base_lock_s
        self.max_lock_s = max_lock_s
        self.max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[tuple[str, str], _Key] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def reserve(self, username: str, address: str | None) -> Attempt:
        """Count an attempt for ``username`` from ``address`` now; TooManyRequests when either is locked."""
        address = address or "unknown"
        with self._lock:
            now = self._clock()
            self._evict(now)
            by_address = self._key(("address", address), now)
            by_name = self._key(("user", username), now)
            wait = self._locked_for(by_address, self.per_address, now)
            if wait:
                raise TooManyRequests(f"too many failed logins from {address}; try again in {wait} s")
            wait = self._locked_for(by_name, self.per_username, now)
            if wait and (by_address.failures or by_address.strikes):
                raise TooManyRequests(
                    f"too many failed logins for {username!r}; try again in {wait} s "
                    "(or sign in from an address that has not failed)"
                )
            by_address.failures.append(now)
            by_name.failures.append(now)
            return Attempt(username, address, now)

    def settle(self, attempt: Attempt, *, succeeded: bool) -> None:
        """Record how a reserved attempt ended."""
        with self._lock:
            now = self._clock()
            by_address = self._keys.get(("address", attempt.address))
            by_name = self._keys.get(("user", attempt.username))
            if succeeded:
                if by_address is not None:
                    _forget(by_address.failures, attempt.at)
                if by_name is not None:
                    by_name.failures.clear()
                    by_name.locked_until, by_name.strikes = 0.0, 0
                return
            for key, limit in ((by_address, self.per_address), (by_name, self.per_username)):
                if key is not None and len(self._recent(key, now)) >= limit:
                    key.strikes += 1
                    key.locked_until = now + min(self.base_lock_s * 2 ** (key.strikes - 1), self.max_lock_s)
                    key.failures.clear()

    def _locked_for(self, key: _Key, limit: int, now: float) -> int:
        """Whole seconds ``key`` stays locked (0: not locked); a key at its limit counts as locked."""
        if now < key.locked_until:
            return math.ceil(key.locked_until - now)
        recent = self._recent(key, now)
        if len(recent) >= limit:
            return max(1, math.ceil(recent[0] + self.window_s - now))
        return 0

    def _key(self, name: tuple[str, str], now: float) -> _Key:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = _Key()
        else:
            self._keys.move_to_end(name)
        key.last_seen = now
        return key

    def _recent(self, key: _Key, now: float) -> deque[float]:
        while key.failures and key.failures[0] <= now - self.window_s:
            key.failures.popleft()
        return key.failures

    def _evict(self, now: float) -> None:
        """Drop keys idle past their window and lock (oldest first), then the least recent over the cap."""
        while self._keys:
            name, key = next(iter(self._keys.items()))
            idle = now - key.last_seen > self.window_s and now >= key.locked_until + self.window_s
            if not idle and len(self._keys) <= self.max_keys - 2:  # room for the two keys of a reserve
                break
            del self._keys[name]


def _forget(failures: deque[float], at: float) -> None:
    try:
        failures.remove(at)
    except ValueError:
        return
