"""The upstream client mirrors one request of ``ClientSession._request``: pinned to the aiohttp it mirrors."""

from __future__ import annotations

import hashlib
import inspect

import aiohttp
import pytest

from strangler_proxy.dataplane.upstream_request import AIOHTTP_SESSION_REQUEST

pytestmark = pytest.mark.unit


def test_the_session_code_the_client_mirrors_is_the_one_it_was_checked_against() -> None:
    """A new aiohttp may change how the session sends a request (a new step, a new retry rule):
    compare it with strangler_proxy/dataplane/upstream_request.py, then update the pinned hash."""
    source = inspect.getsource(aiohttp.ClientSession._request)
    assert hashlib.sha256(source.encode()).hexdigest() == AIOHTTP_SESSION_REQUEST
