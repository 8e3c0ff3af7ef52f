"""The upstream client mirrors one request of ``ClientSession._request``: pinned to the aiohttp it mirrors,
and sending a request a second time only where the session would."""

from __future__ import annotations

import asyncio
import hashlib
import inspect

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

from strangler_proxy.dataplane.upstream_request import (
    AIOHTTP_MIRRORED_VERSION,
    AIOHTTP_SESSION_REQUEST,
    UpstreamClient,
)

pytestmark = pytest.mark.unit


def test_the_session_code_the_client_mirrors_is_the_one_it_was_checked_against() -> None:
    """A new aiohttp may change how the session sends a request (a new step, a new retry rule):
    compare it with strangler_proxy/dataplane/upstream_request.py, then update the pinned hash."""
    source = inspect.getsource(aiohttp.ClientSession._request)
    assert hashlib.sha256(source.encode()).hexdigest() == AIOHTTP_SESSION_REQUEST, (
        f"aiohttp {aiohttp.__version__} changed ClientSession._request (aiohttp/client.py) since "
        f"{AIOHTTP_MIRRORED_VERSION}, the release UpstreamClient.send mirrors: re-read how it builds the "
        "request (the ClientRequest arguments), takes a connection (connector.connect and the connect "
        "timeouts), sets the read timeout and parser limits (set_response_params), starts the response, "
        "and which errors it sends again (the retry loop: ServerDisconnectedError/ClientOSError, "
        "idempotent methods, a body it can replay); bring strangler_proxy/dataplane/upstream_request.py "
        "in line, then update AIOHTTP_MIRRORED_VERSION and AIOHTTP_SESSION_REQUEST"
    )


class _CountingConnector(aiohttp.TCPConnector):
    """Counts the connections asked for; each one fails as a refused connection or a dropped one."""

    def __init__(self, failure: type[Exception]) -> None:
        super().__init__()
        self.asked = 0
        self._failure = failure

    async def connect(self, req, traces, timeout):  # type: ignore[no-untyped-def]
        self.asked += 1
        if self._failure is aiohttp.ClientConnectorError:
            raise aiohttp.ClientConnectorError(req.connection_key, ConnectionRefusedError(111, "refused"))
        raise self._failure("Server disconnected")


@pytest.mark.parametrize(
    ("failure", "method", "asked"),
    [
        (aiohttp.ClientConnectorError, "GET", 1),  # nothing was sent: no second try, as the session
        (aiohttp.ServerDisconnectedError, "GET", 2),  # a dropped keep-alive connection: once more
        (aiohttp.ServerDisconnectedError, "POST", 1),  # never a second POST
    ],
)
def test_only_a_dropped_connection_is_tried_again_and_only_for_an_idempotent_request(
    failure: type[Exception], method: str, asked: int
) -> None:
    async def scenario() -> int:
        connector = _CountingConnector(failure)
        async with aiohttp.ClientSession(connector=connector) as session:
            client = UpstreamClient(session)
            with pytest.raises(failure):
                await client.send(
                    method, URL("http://127.0.0.1:9/x"), CIMultiDict(), None, aiohttp.ClientTimeout()
                )
        return connector.asked

    assert asyncio.run(scenario()) == asked
