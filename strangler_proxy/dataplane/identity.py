"""Who the customer is, for the new services: the monolith's session resolved and signed.

For a request sent to a new upstream (or mirrored there) that carries the monolith's session cookie,
the resolver asks the legacy's ``GET /internal/session/resolve`` (bearer token) who the session
belongs to, signs the claims with the shared identity key (:mod:`strangler_proxy.identity`) and the
forwarder adds them as ``X-Strangler-Identity``. Answers, anonymous ones included, are cached per
session for ``cache_s`` seconds, so a busy customer costs one lookup per period. A client's own
``X-Strangler-Identity`` never passes (every ``x-strangler-*`` header is stripped).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import aiohttp

from strangler_proxy.dataplane.errors import UpstreamConnectError
from strangler_proxy.dataplane.failures import describe_failure
from strangler_proxy.identity import identity_claims, sign_identity
from strangler_proxy.keyring import KeyRing

__all__ = ["IDENTITY_HEADER", "IdentityResolver", "session_cookie"]

logger = logging.getLogger(__name__)

IDENTITY_HEADER = "x-strangler-identity"
_RESOLVE_PATH = "/internal/session/resolve"


def session_cookie(raw_headers: Sequence[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The value of cookie ``name`` in the request's Cookie headers, if any."""
    prefix = name + b"="
    for header, value in raw_headers:
        if header != b"cookie":
            continue
        for part in value.split(b";"):
            part = part.strip()
            if part.startswith(prefix):
                return part[len(prefix) :].decode("latin-1") or None
    return None


class IdentityResolver:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        legacy_url: Callable[[], str],
        *,
        internal_token: Callable[[], str | None],
        identity_key: bytes | KeyRing,
        cookie_name: str = "sessionid",
        cache_s: float = 30.0,
        token_s: float = 300.0,
        max_entries: int = 10_000,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._legacy_url = legacy_url
        self._load_token = internal_token
        self._auth: str | None = None
        self._warned = False
        self._key = identity_key
        self._cookie = cookie_name.encode()
        self._cache_s = cache_s
        self._token_s = token_s
        self._max = max_entries
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self.lookups = 0

    async def header_for(self, raw_headers: Sequence[tuple[bytes, bytes]]) -> str | None:
        """The signed identity of the request's session, or None when it has none (anonymous)."""
        key = self.session_of(raw_headers)
        return None if key is None else await self.header_for_session(key)

    def session_of(self, raw_headers: Sequence[tuple[bytes, bytes]]) -> str | None:
        """The session to resolve for this request: None without a session cookie (or before the
        legacy's token exists), so most requests need no ``await`` at all."""
        key = session_cookie(raw_headers, self._cookie)
        if key is None or not self._has_token():
            return None
        return key

    async def header_for_session(self, key: str, traceparent: str | None = None) -> str | None:
        """The signed identity of session ``key`` (see :meth:`session_of`), None when anonymous; a
        lookup in the monolith continues ``traceparent`` (the request's, as sent upstream)."""
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = await self._resolve(key, traceparent)
        value = None if claims is None else sign_identity(self._key, claims, now + self._token_s)
        self._cache[key] = (now + self._cache_s, value)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return value

    def _has_token(self) -> bool:
        """The monolith writes its token file when it first starts, possibly after this worker."""
        if self._auth is None:
            token = self._load_token()
            if token is None:
                if not self._warned:
                    self._warned = True
                    logger.warning(
                        "no legacy internal token yet (STRANGLER_LEGACY_INTERNAL_TOKEN or "
                        "$STRANGLER_HOME/legacy/internal_token): new services get no X-Strangler-Identity"
                    )
                return False
            self._auth = f"Bearer {token}"
        return True

    async def _resolve(self, key: str, traceparent: str | None = None) -> dict[str, object] | None:
        self.lookups += 1
        url = self._legacy_url() + _RESOLVE_PATH
        assert self._auth is not None
        headers = {"authorization": self._auth, "x-legacy-session": key, "accept": "application/json"}
        if traceparent:
            headers["traceparent"] = traceparent
        try:
            async with self._session.get(url, headers=headers, timeout=self._timeout) as response:
                if response.status == 404:
                    return None  # no live session: the customer is anonymous
                if response.status != 200:
                    raise UpstreamConnectError(
                        f"the legacy refused to resolve the session (status {response.status})",
                        upstream="legacy",
                    )
                found = await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamConnectError(
                f"cannot resolve the session with the legacy: it {describe_failure(exc)}", upstream="legacy"
            ) from exc
        return identity_claims(
            user_id=found["user_id"], username=found["username"], is_staff=found["is_staff"]
        )
