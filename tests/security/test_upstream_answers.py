"""Answers the front door relays or refuses: an unasked-for 101, and the response header limits.

Against a raw upstream whose every byte is the test's (``tests/security/misbehaving.py``): a valid 9 KB
Content-Security-Policy and an answer with 130 headers pass (aiohttp's own limits, 8,190 bytes a field
and 128 headers, refused both); past the proxy's limits (64 KiB a field and in total, 256 headers) the
client gets a 502 naming the limit, and a 101 to a request that asked for no upgrade is a 502 after
which the connection is closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.dataplane.harness import DataPlaneProcess, dataplane_over
from tests.integration.dataplane.rawhttp import raw_request, serving
from tests.security.misbehaving import MisbehavingUpstream
from tests.security.rawclient import exchange

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dataplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlaneProcess]:
    root = tmp_path_factory.mktemp("upstream-answers")
    with serving(MisbehavingUpstream()) as upstream, dataplane_over(upstream.url, root) as process:
        yield process


def _get(path: str) -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: shop.test\r\n\r\n"


def test_an_unasked_101_is_a_502_and_the_connection_closes(dataplane: DataPlaneProcess) -> None:
    # a second request behind the first: it must never be read on a connection whose state is unknown
    result = exchange(dataplane.port, _get("/switching") + _get("/ok"), timeout=5)
    assert result.statuses == [502], result.data
    assert result.closed
    head, _, body = result.data.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    document = json.loads(body)
    assert document["error"] == "upstream_protocol_error"
    assert "101" in document["detail"]
    assert b"raw bytes" not in result.data


def test_a_9kb_content_security_policy_passes(dataplane: DataPlaneProcess) -> None:
    answer = raw_request(dataplane.port, _get("/big-csp"))
    assert answer.status == 200
    policy = answer.header("content-security-policy")
    assert policy is not None and len(policy) > 9000


def test_an_answer_with_130_headers_passes(dataplane: DataPlaneProcess) -> None:
    answer = raw_request(dataplane.port, _get("/many-headers"))
    assert answer.status == 200
    assert [answer.header(f"x-header-{i}") for i in range(130)] == [str(i) for i in range(130)]


@pytest.mark.parametrize("path", ["/huge-field", "/big-total", "/too-many-headers"])
def test_answers_past_the_limits_are_a_502_naming_them(dataplane: DataPlaneProcess, path: str) -> None:
    answer = raw_request(dataplane.port, _get(path))
    assert answer.status == 502
    document = json.loads(answer.body)
    assert document["error"] == "upstream_headers_too_large"
    assert "STRANGLER_MAX_RESPONSE_HEADER_BYTES" in document["detail"]
    assert document["upstream"] == "legacy"
