"""Signing identity for the engine: the part of the front door that runs in a Python sidecar.

HAProxy cannot ask the monolith who a session belongs to and sign the answer, so the agent serves
``GET /identity`` on a loopback port: HAProxy's Lua hook (``identity.lua``, rendered with the URL and a
random token only HAProxy knows) calls it for a request going to a new upstream that carries the
session cookie, and adds the answer as ``X-Strangler-Identity``. The sidecar asks the legacy's
``GET /internal/session/resolve`` (bearer token) and signs the claims with the shared identity key
(:mod:`strangler_proxy.identity`), as the data plane does:

    200 <token>    signed identity of the session
    204            anonymous (no live session, or the legacy's token does not exist yet)
    403            the caller is not the engine (wrong sidecar token)
    502            the legacy could not be asked (the request is then answered 502)

Answers are cached per session for ``cache_s`` (here and in each HAProxy thread).
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

from strangler_proxy.identity import identity_claims, sign_identity
from strangler_proxy.keyring import KeyRing

__all__ = ["IdentitySidecar", "render_lua"]

logger = logging.getLogger(__name__)

_RESOLVE_PATH = "/internal/session/resolve"
_TOKEN_HEADER = "x-strangler-sidecar"


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
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
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
        session = request.headers.get("x-legacy-session", "")
        if not session:
            return web.Response(status=204)
        try:
            signed = await self.header_for_session(session)
        except (aiohttp.ClientError, TimeoutError, _LegacyRefused) as exc:
            logger.warning("identity: cannot resolve a session with the legacy: %s", exc)
            return web.Response(status=502, text="cannot resolve the session with the legacy")
        return web.Response(status=204) if signed is None else web.Response(text=signed)

    async def header_for_session(self, session: str) -> str | None:
        """The signed identity of ``session``, None when anonymous (cached ``cache_s``)."""
        now = self._clock()
        cached = self._cache.get(session)
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = await self._resolve(session)
        value = None if claims is None else sign_identity(self._key, claims, now + self._token_s)
        self._cache[session] = (now + self._cache_s, value)
        self._cache.move_to_end(session)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return value

    async def _resolve(self, session: str) -> dict[str, object] | None:
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
            "x-legacy-session": session,
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
