"""Signing identity for the engine: the part of the front door that runs in a Python sidecar.

HAProxy cannot ask the monolith who a session belongs to and sign the answer, so the agent serves
``GET /identity`` on a loopback port: HAProxy's Lua hook (``identity.lua``, rendered with the URL and a
random token only HAProxy knows) calls it for a request going to a new upstream that carries a
credential the monolith accepts (``X-Legacy-Authorization``: the client's HTTP basic auth, which wins,
else ``X-Legacy-Session``: its session cookie), and adds the answer as ``X-Strangler-Identity``. The
sidecar asks the legacy's ``GET /internal/session/resolve`` (bearer token) and signs the claims with
the shared identity key (:mod:`strangler_proxy.identity_token`), as the data plane does:

    200 <token>    signed identity of the credential
    204            anonymous (no live session, or the legacy's token does not exist yet)
    404            credentials the monolith refuses (not cached, here or in HAProxy)
    403            the caller is not the engine (wrong sidecar token)
    502            the legacy could not be asked (the request is then answered 502)

Answers are cached for ``cache_s`` (here and in each HAProxy thread) under an HMAC-SHA256 of the
credential with a random key, never under the credential itself (for basic auth, one password hash on
the monolith per period instead of one per request); refused credentials are not cached.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import aiohttp
from aiohttp import web

from strangler_proxy.identity_token import identity_claims, sign_identity
from strangler_proxy.keyring import KeyRing

__all__ = ["IdentitySidecar", "render_lua"]

logger = logging.getLogger(__name__)

_RESOLVE_PATH = "/internal/session/resolve"
_TOKEN_HEADER = "x-strangler-sidecar"
_SESSION = "x-legacy-session"
_AUTHORIZATION = "x-legacy-authorization"


def render_lua(url: str, token: str, destination: Path) -> None:
    """Write the Lua hook with the sidecar's URL and token filled in (mode 0600)."""
    template = resources.files("strangler_proxy.engines.haproxy").joinpath("identity.lua").read_text()
    destination.write_text(template.replace("@URL@", url).replace("@TOKEN@", token), encoding="utf-8")
    destination.chmod(0o600)


class IdentitySidecar:
    """The ``/identity`` endpoint; start it with :meth:`start`, stop it with :meth:`stop`."""

    def __init__(
        self,
        *,
        legacy_url: Callable[[], str],
        internal_token: Callable[[], str | None],
        identity_key: bytes | KeyRing,
        cache_s: float = 30.0,
        token_s: float = 300.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = secrets.token_urlsafe(32)
        self._legacy_url = legacy_url
        self._internal_token = internal_token
        self._key = identity_key
        self._cache_s = cache_s
        self._token_s = token_s
        self._max = max_entries
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[float, str | None]] = OrderedDict()
        self._cache_key = secrets.token_bytes(32)
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._warned = False
        self.lookups = 0
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/identity"

    async def start(self, port: int = 0) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
        app = web.Application()
        app.router.add_get("/identity", self._identity)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _identity(self, request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(_TOKEN_HEADER, "").encode(), self.token.encode()):
            return web.Response(status=403, text="not the engine")
        authorization = request.headers.get(_AUTHORIZATION, "")
        credential = (_AUTHORIZATION, authorization) if authorization else None
        if credential is None and request.headers.get(_SESSION):
            credential = (_SESSION, request.headers[_SESSION])
        if credential is None:
            return web.Response(status=204)
        try:
            signed = await self.header_for(credential)
        except (aiohttp.ClientError, TimeoutError, _LegacyRefused) as exc:
            logger.warning("identity: cannot resolve a credential with the legacy: %s", exc)
            return web.Response(status=502, text="cannot resolve the session with the legacy")
        if signed is None:
            return web.Response(status=404 if credential[0] == _AUTHORIZATION else 204)
        return web.Response(text=signed)

    async def header_for_session(self, session: str) -> str | None:
        """The signed identity of the session key ``session``, None when anonymous."""
        return await self.header_for((_SESSION, session))

    async def header_for(self, credential: tuple[str, str]) -> str | None:
        """The signed identity of ``credential`` (the resolve endpoint's header, the value), None when
        nobody is behind it; cached ``cache_s`` under its HMAC, except refused credentials."""
        now = self._clock()
        cache_key = hmac.digest(self._cache_key, "\0".join(credential).encode("latin-1"), "sha256")
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = await self._resolve(credential)
        value = None if claims is None else sign_identity(self._key, claims, now + self._token_s)
        if value is None and credential[0] == _AUTHORIZATION:
            return None  # refused credentials are checked again next time, never remembered
        self._cache[cache_key] = (now + self._cache_s, value)
        self._cache.move_to_end(cache_key)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return value

    async def _resolve(self, credential: tuple[str, str]) -> dict[str, object] | None:
        token = self._internal_token()
        if token is None:
            if not self._warned:
                self._warned = True
                logger.warning("no legacy internal token yet: new services get no X-Strangler-Identity")
            return None
        assert self._session is not None
        self.lookups += 1
        headers = {
            "authorization": f"Bearer {token}",
            credential[0]: credential[1],
            "accept": "application/json",
        }
        async with self._session.get(self._legacy_url() + _RESOLVE_PATH, headers=headers) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                raise _LegacyRefused(f"the legacy answered {response.status}")
            found = await response.json()
        return identity_claims(
            user_id=found["user_id"], username=found["username"], is_staff=found["is_staff"]
        )


class _LegacyRefused(Exception):
    pass
