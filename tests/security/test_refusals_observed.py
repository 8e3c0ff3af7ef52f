"""Requests the proxy refuses itself are in the access log and in the metrics, with their reason.

Refused at the connection (framing, Host, version, header size) or by the application (an ambiguous
path) alike: each is one access-log line (status, ``target: proxy``, ``error`` starting with the reason)
and counts in ``strangler_requests_refused_total{status, reason}`` and in ``strangler_requests_total``
(``route=""``, ``target="proxy"``).
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from tests.security.conftest import Front
from tests.security.rawclient import exchange

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("security-refusals")]

REFUSED = {
    "bad_path": (b"GET /a/../admin HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "bad_host": (b"GET /a HTTP/1.1\r\n\r\n", 400),
    "http_version": (b"GET /a HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    "headers_too_large": (b"GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
    "bad_framing": (b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
}


def _metrics(front: Front) -> str:
    with urllib.request.urlopen(f"{front.dataplane.internal_url}/_strangler/metrics", timeout=5) as response:
        return response.read().decode()


def _refused_count(metrics: str, status: int, reason: str) -> int:
    found = re.search(
        rf'^strangler_requests_refused_total\{{status="{status}",reason="{reason}"\}} (\d+)$', metrics, re.M
    )
    return int(found.group(1)) if found else 0


def test_refused_requests_are_logged_and_counted_with_their_reason(front: Front) -> None:
    before = _metrics(front)
    for reason, (payload, status) in REFUSED.items():
        result = exchange(front.dataplane.port, payload, timeout=5)
        assert result.statuses == [status], (reason, result.data)
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in front.dataplane.access_log() if line["target"] == "proxy"]
        if {line["error"].split(":", 1)[0] for line in lines} >= set(REFUSED) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    by_reason = {line["error"].split(":", 1)[0]: line for line in lines}
    for reason, (_payload, status) in REFUSED.items():
        line = by_reason.get(reason)
        assert line is not None, f"no access-log line for {reason}: {lines}"
        assert line["status"] == status
        assert line["route"] == "" and line["client"] == "127.0.0.1"
    assert by_reason["bad_path"]["path"] == "/a/../admin"
    assert by_reason["bad_path"]["method"] == "GET"
    after = _metrics(front)
    for reason, (_payload, status) in REFUSED.items():
        assert _refused_count(after, status, reason) == _refused_count(before, status, reason) + 1, reason
    assert re.search(
        r'^strangler_requests_total\{route="",target="proxy",status_class="4xx"\} \d+$', after, re.M
    )
