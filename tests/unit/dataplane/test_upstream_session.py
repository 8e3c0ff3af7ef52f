"""The upstream session's request class: exactly the headers it is given, and never a change to them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from multidict import CIMultiDict
from yarl import URL

from strangler_proxy.dataplane.upstream_session import ProxyRequest

pytestmark = pytest.mark.unit


async def _stream() -> AsyncIterator[bytes]:
    yield b"part"


@pytest.mark.parametrize("form", [CIMultiDict, list])
def test_a_request_adds_nothing_of_its_own_and_leaves_the_given_headers_untouched(form: type) -> None:
    """aiohttp builds the header multidict once per call and reuses it when it retries an idempotent
    request (the upstream client reuses the forwarder's list of pairs the same way): two requests from
    the same headers must both build, with the same framing, and leave them as they were."""
    pairs = [("Host", "shop.test"), ("X-One", "1"), ("X-One", "2")]

    async def scenario() -> list[CIMultiDict[str]]:
        given = form(pairs)
        built = []
        for _ in range(2):  # the first attempt and the retry
            request = ProxyRequest("PUT", URL("http://127.0.0.1:9/x"), headers=given, data=_stream())
            built.append(request.headers)
        assert list(given.items() if isinstance(given, CIMultiDict) else given) == pairs
        return built

    first, retry = asyncio.run(scenario())
    expected = [("Host", "shop.test"), ("X-One", "1"), ("X-One", "2"), ("Transfer-Encoding", "chunked")]
    assert list(first.items()) == list(retry.items()) == expected


@pytest.mark.parametrize("form", [CIMultiDict, list])
def test_a_request_without_host_gets_the_upstreams(form: type) -> None:
    async def scenario() -> CIMultiDict[str]:
        return ProxyRequest("GET", URL("http://127.0.0.1:9/x"), headers=form([("X-One", "1")])).headers

    assert list(asyncio.run(scenario()).items()) == [("X-One", "1"), ("Host", "127.0.0.1:9")]
