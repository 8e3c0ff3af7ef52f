"""Read-your-writes across the seam: a client's read on one side waits for its own write on the other.

A side that commits sync events in answer to a request names them in ``X-Strangler-Sync-Events`` (the
monolith through ``strangler_django.sync_positions``, a service through ``acl.sync.core.positions``). The
forwarder takes that header off the answer to a write (any method but GET and HEAD) and gives the
client a signed cookie instead, ``strangler_sync`` = the side that wrote and its event ids, valid for
``cookie_s``. A later GET or HEAD
carrying the cookie that is routed to the *other* side waits, up to ``bound_s`` (default 2 s), until
that side says it has taken the events:

* the monolith: ``GET /internal/sync/arrived?event=...`` (its inbox of applied service events; bearer
  internal token);
* a service: ``GET /_strangler/sync/arrived?event=...`` (its forward consumer's inbox).

Taken in time: the read goes where the table sends it. Not taken in time (or the side could not say;
a side without the endpoint, 404, is not waited for):
a read bound for a service is served by the legacy instead (the system of record, which has its own
writes, and the service's writes once synced), a read bound for the legacy goes to the legacy; either
way the data plane's log names the cause (``read-your-writes: ...``) and the waiter counts it. A position
confirmed once on a side is remembered for the cookie's life, so only the first read after a write
waits or asks. The cookie is signed with a key derived from the identity key (a client cannot point
the wait elsewhere), and a forged, expired or malformed cookie is ignored.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp

from strangler_proxy.identity_token import IdentityError, sign_identity, verify_identity
from strangler_proxy.keyring import KeyRing

__all__ = [
    "POSITION_COOKIE",
    "SYNC_EVENTS_HEADER",
    "ArrivalWaiter",
    "PositionCodec",
    "SyncPosition",
    "position_cookie",
]

logger = logging.getLogger(__name__)

POSITION_COOKIE = b"strangler_sync"
SYNC_EVENTS_HEADER = b"x-strangler-sync-events"
MAX_EVENTS = 16
_PURPOSE = b"strangler read-your-writes position v1"
_LEGACY_PATH = "/internal/sync/arrived"
_SERVICE_PATH = "/_strangler/sync/arrived"


@dataclass(frozen=True, slots=True)
class SyncPosition:
    """What a client wrote: the side that committed it (``legacy`` or an upstream's name), its events."""

    side: str
    events: tuple[str, ...]


def _derived(key: bytes) -> bytes:
    return hmac.digest(key, _PURPOSE, "sha256")


class PositionCodec:
    """Signs and reads the position cookie, with a key of its own derived from the identity key ring."""

    def __init__(
        self, identity_key: KeyRing, *, cookie_s: float = 30.0, clock: Callable[[], float] = time.time
    ) -> None:
        previous = None if identity_key.previous is None else _derived(identity_key.previous)
        self._key = KeyRing(_derived(identity_key.current), previous, identity_key.previous_until)
        self._cookie_s = cookie_s
        self._clock = clock

    def set_cookie(self, side: str, header_value: bytes, *, secure: bool) -> bytes | None:
        """The ``Set-Cookie`` value for an answer whose side named ``header_value``; None when it names
        no valid event id (nothing to wait for)."""
        events = _event_ids(header_value)
        if not events:
            return None
        claims = {"side": side, "events": list(events)}
        token = sign_identity(self._key, claims, self._clock() + self._cookie_s)
        cookie = (
            POSITION_COOKIE
            + b"="
            + token.encode("ascii")
            + b"; Path=/; Max-Age="
            + str(int(self._cookie_s)).encode()
            + b"; HttpOnly; SameSite=Lax"
        )
        return cookie + b"; Secure" if secure else cookie

    def answer_to_cookie(self, out: list[tuple[bytes, bytes]], side: str, *, secure: bool) -> None:
        """An answer naming the sync events it committed (``out``, its headers, changed in place): the
        names go, a signed position cookie comes."""
        for index, (name, value) in enumerate(out):
            if name == SYNC_EVENTS_HEADER:
                del out[index]
                cookie = self.set_cookie(side, value, secure=secure)
                if cookie is not None:
                    out.append((b"set-cookie", cookie))
                return

    def read(self, value: str) -> SyncPosition | None:
        """The position of a cookie this proxy signed and that has not expired, else None."""
        try:
            claims = verify_identity(self._key, value, self._clock())
        except IdentityError:
            return None
        side, events = claims.get("side"), claims.get("events")
        if not isinstance(side, str) or not isinstance(events, list) or not events:
            return None
        if not all(isinstance(event, str) for event in events):
            return None
        return SyncPosition(side, tuple(events[:MAX_EVENTS]))


def _event_ids(header_value: bytes) -> tuple[str, ...]:
    found: list[str] = []
    for part in header_value.decode("latin-1").split(","):
        try:
            found.append(str(uuid.UUID(part.strip())))
        except ValueError:
            continue
    return tuple(found[-MAX_EVENTS:])


def position_cookie(raw_headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The position cookie's value in the request's Cookie headers, if any."""
    prefix = POSITION_COOKIE + b"="
    for header, value in raw_headers:
        if header != b"cookie" or prefix not in value:
            continue
        for part in value.split(b";"):
            part = part.strip()
            if part.startswith(prefix):
                return part[len(prefix) :].decode("latin-1") or None
    return None


class ArrivalWaiter:
    """Asks a side whether it has taken a position's events, again every ``poll_s`` until ``bound_s``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        internal_token: Callable[[], str | None],
        bound_s: float = 2.0,
        poll_s: float = 0.05,
        max_remembered: int = 10_000,
    ) -> None:
        self._session = session
        self._token = internal_token
        self.bound_s = bound_s
        self._poll_s = poll_s
        self._max = max_remembered
        self._taken: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.waits = 0
        self.missed = 0

    def taken(self, side: str, position: SyncPosition) -> bool:
        """Whether ``side`` is known to hold every event of ``position`` already (no I/O)."""
        return all((side, event) in self._taken for event in position.events)

    async def wait(self, side: str, base_url: str, position: SyncPosition) -> str | None:
        """None once ``side`` (at ``base_url``; ``legacy`` for the monolith) holds every event of
        ``position``; else why not, after at most ``bound_s``."""
        self.waits += 1
        deadline = time.monotonic() + self.bound_s
        pending = [event for event in position.events if (side, event) not in self._taken]
        reason = f"not taken within {self.bound_s:g} s"
        while pending:
            try:
                arrived = await self._ask(side, base_url, pending, deadline)
            except _NoEndpoint as exc:
                reason = f"{exc}: not waited for"
                break
            except _CannotAsk as exc:
                reason = f"{exc}, for {self.bound_s:g} s"
                arrived = set()
            for event in arrived:
                self._remember(side, event)
            pending = [event for event in pending if event not in arrived]
            left = deadline - time.monotonic()
            if not pending or left <= 0:
                break
            await asyncio.sleep(min(self._poll_s, left))
        if not pending:
            return None
        self.missed += 1
        missing = f"{len(pending)} of {len(position.events)} events from {position.side} not on {side}"
        return f"{missing} ({reason})"

    def _remember(self, side: str, event: str) -> None:
        self._taken[(side, event)] = None
        self._taken.move_to_end((side, event))
        while len(self._taken) > self._max:
            self._taken.popitem(last=False)

    async def _ask(self, side: str, base_url: str, events: list[str], deadline: float) -> set[str]:
        headers = {"accept": "application/json"}
        if side == "legacy":
            token = self._token()
            if token is None:
                raise _CannotAsk("no legacy internal token")
            headers["authorization"] = f"Bearer {token}"
            url = base_url + _LEGACY_PATH
        else:
            url = base_url + _SERVICE_PATH
        timeout = aiohttp.ClientTimeout(total=max(0.05, deadline - time.monotonic()))
        try:
            async with self._session.get(
                url, params=[("event", event) for event in events], headers=headers, timeout=timeout
            ) as response:
                if response.status == 404:
                    raise _NoEndpoint(f"{side} has no {url.removeprefix(base_url)} (404)")
                if response.status != 200:
                    raise _CannotAsk(f"{side} answered {response.status} to {url}")
                found = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise _CannotAsk(f"cannot ask {side}: {exc.__class__.__name__}") from exc
        arrived = found.get("arrived") if isinstance(found, dict) else None
        if not isinstance(arrived, list):
            raise _CannotAsk(f"{side} answered no arrived list")
        return {str(event) for event in arrived} & set(events)


class _CannotAsk(Exception):
    """The side could not say (down, refused, no token): the wait goes on until its bound."""


class _NoEndpoint(_CannotAsk):
    """The side does not answer read-your-writes at all (404): no use waiting."""
