"""Who the customer is, for the new services: the monolith's credentials resolved and signed.

For a request sent to a new upstream (or mirrored there) that carries a credential the monolith
accepts (an ``Authorization`` header of a listed scheme: HTTP basic auth by default, the monolith's API
token scheme when listed, see :mod:`strangler_proxy.credentials`; or else its session cookie), the
resolver asks the legacy's ``GET /internal/session/resolve`` (bearer token; the credential in
``X-Legacy-Authorization`` or ``X-Legacy-Session``) who it belongs to, signs the claims with the
shared identity key (:mod:`strangler_proxy.identity_token`) and the forwarder adds them as
``X-Strangler-Identity``.

Resolutions are cached for ``cache_s`` seconds (default 30) under an HMAC-SHA256 of the credential with
a per-process random key, never under the credential itself, so a busy client costs one lookup per
period (for basic auth, one password hash on the monolith instead of one per request). A session found
anonymous is cached too; credentials the monolith refuses are not (each attempt is checked again, as
the monolith would). A client's own ``X-Strangler-Identity`` never passes (every ``x-strangler-*``
header is stripped).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import aiohttp

from strangler_proxy.dataplane.errors import UpstreamConnectError
from strangler_proxy.dataplane.failures import describe_failure
from strangler_proxy.identity_token import identity_claims, sign_identity
from strangler_proxy.keyring import KeyRing

__all__ = ["IDENTITY_HEADER", "Credential", "IdentityResolver", "request_credential", "session_cookie"]

logger = logging.getLogger(__name__)

IDENTITY_HEADER = "x-strangler-identity"
_RESOLVE_PATH = "/internal/session/resolve"
_SESSION = "x-legacy-session"
_AUTHORIZATION = "x-legacy-authorization"

Credential = tuple[str, str]
"""(the header the resolve endpoint reads it from, the credential): a session key or basic auth."""


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


def request_credential(
    raw_headers: Sequence[tuple[bytes, bytes]], cookie: bytes, schemes: Sequence[bytes] = (b"basic ",)
) -> Credential | None:
    """The credential to resolve, in one pass over the headers: an ``Authorization`` of one of
    ``schemes`` (lower-case, each followed by a space) first (the monolith's API views prefer it to the
    session), else the session cookie ``cookie``, else None."""
    session = None
    prefix = cookie + b"="
    for header, value in raw_headers:
        if header == b"authorization":
            if any(value[: len(scheme)].lower() == scheme for scheme in schemes):
                return (_AUTHORIZATION, value.decode("latin-1"))
        elif header == b"cookie" and session is None:
            for part in value.split(b";"):
                part = part.strip()
                if part.startswith(prefix):
                    session = part[len(prefix) :].decode("latin-1") or None
                    break
    return None if session is None else (_SESSION, session)


class IdentityResolver:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        legacy_url: Callable[[], str],
        *,
        internal_token: Callable[[], str | None],
        identity_key: bytes | KeyRing,
        cookie_name: str = "sessionid",
        auth_schemes: Sequence[str] = ("basic",),
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
        self._schemes = tuple(f"{scheme.lower()} ".encode("ascii") for scheme in auth_schemes)
        self._cache_s = cache_s
        self._token_s = token_s
        self._max = max_entries
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[float, str | None]] = OrderedDict()
        self._cache_key = secrets.token_bytes(32)
        self.lookups = 0

    async def header_for(self, raw_headers: Sequence[tuple[bytes, bytes]]) -> str | None:
        """The signed identity of the request's session, or None when it has none (anonymous)."""
        key = self.session_of(raw_headers)
        return None if key is None else await self.header_for_session(key)

    def session_of(self, raw_headers: Sequence[tuple[bytes, bytes]]) -> Credential | None:
        """The credential to resolve for this request (a listed Authorization or the session cookie): None
        without one (or before the legacy's token exists), so most requests need no ``await``."""
        credential = request_credential(raw_headers, self._cookie, self._schemes)
        if credential is None or not self._has_token():
            return None
        return credential

    async def header_for_session(self, credential: Credential, traceparent: str | None = None) -> str | None:
        """The signed identity of ``credential`` (see :meth:`session_of`), None when nobody is behind it;
        a lookup in the monolith continues ``traceparent`` (the request's, as sent upstream)."""
        now = self._clock()
        cache_key = hmac.digest(self._cache_key, "\0".join(credential).encode("latin-1"), "sha256")
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = await self._resolve(credential, traceparent)
        value = None if claims is None else sign_identity(self._key, claims, now + self._token_s)
        if value is None and credential[0] == _AUTHORIZATION:
            return None  # refused credentials are checked again next time, never remembered
        self._cache[cache_key] = (now + self._cache_s, value)
        self._cache.move_to_end(cache_key)
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

    async def _resolve(
        self, credential: Credential, traceparent: str | None = None
    ) -> dict[str, object] | None:
        self.lookups += 1
        url = self._legacy_url() + _RESOLVE_PATH
        assert self._auth is not None
        headers = {"authorization": self._auth, credential[0]: credential[1], "accept": "application/json"}
        if traceparent:
            headers["traceparent"] = traceparent
        try:
            async with self._session.get(url, headers=headers, timeout=self._timeout) as response:
                if response.status == 404:
                    return None  # no live session, or refused credentials: the client is anonymous
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
