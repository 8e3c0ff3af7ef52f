"""The aiohttp session a data-plane worker forwards through.

One ``ClientSession`` per process: a keep-alive pool, no cookie jar, no automatic decompression and no
headers of the client's own. Two small subclasses of aiohttp's public extension points say the last
two things once per class instead of once per request:

- :class:`ProxyRequest` (the session's ``request_class``) adds no header of its own (no User-Agent,
  Accept, Accept-Encoding, nor a guessed Content-Type) and builds its header multidict in one call
  (from the session's multidict, or from a list of pairs) instead of re-adding the headers one by one;
- :class:`NoCookies` keeps no cookie and hands out one shared empty cookie set instead of a new one
  for every request.

aiohttp's own ``skip_auto_headers`` would do the first, but it builds and copies a multidict on every
request (measured with ``python -m benchmarks.instructions``, see docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from http.cookies import BaseCookie, SimpleCookie
from typing import Any

import aiohttp
from aiohttp import hdrs
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict
from yarl import URL

__all__ = ["NoCookies", "ProxyRequest", "upstream_session"]

#: headers aiohttp would otherwise add by itself; a transparent proxy adds none of them
_NOT_OURS: CIMultiDict[None] = CIMultiDict(
    (name, None) for name in (hdrs.USER_AGENT, hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.CONTENT_TYPE)
)


class ProxyRequest(aiohttp.ClientRequest):
    """aiohttp's request, sending exactly the headers it is given (plus Host when they have none)."""

    _skip_auto_headers = _NOT_OURS  # also read by aiohttp when it would guess a Content-Type

    def update_headers(self, headers: Any) -> None:
        if isinstance(headers, CIMultiDict):
            # The session built this multidict from the request's headers; copy it in one C call
            # instead of aiohttp's loop over every header. A copy, not the object itself: aiohttp
            # reuses it when it retries an idempotent request, and this request adds its framing
            # headers to its own.
            own = headers.copy()
        elif isinstance(headers, list):
            own = CIMultiDict(headers)  # (name, value) pairs, as the forwarder has them: one C call
        else:
            super().update_headers(headers)
            return
        self.headers = own
        if hdrs.HOST not in own:
            host = self.url.host_port_subcomponent
            assert host is not None
            own[hdrs.HOST] = host

    def update_auto_headers(self, skip_auto_headers: Iterable[str] | None) -> None:
        """No header of the client's own."""


class NoCookies(aiohttp.DummyCookieJar):
    """Keeps no cookie: Cookie and Set-Cookie pass through the proxy untouched, never stored."""

    _EMPTY: SimpleCookie = SimpleCookie()

    def filter_cookies(self, request_url: URL) -> BaseCookie[str]:
        return self._EMPTY  # aiohttp only reads it (the proxy never passes cookies= of its own)


def upstream_session(*, pool_size: int, resolver: AbstractResolver | None = None) -> aiohttp.ClientSession:
    """A session for forwarding: keep-alive pool of ``pool_size`` per upstream, nothing of its own;
    names resolved through ``resolver`` (the address guard) when given."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=0, limit_per_host=pool_size, ttl_dns_cache=300, resolver=resolver
        ),
        cookie_jar=NoCookies(),
        auto_decompress=False,
        request_class=ProxyRequest,
        timeout=aiohttp.ClientTimeout(total=None),
    )
