"""Finding 7: bad input gets a clear 4xx, never a 500. Every integer parameter is bounded, JSON is
limited in size and depth before it is parsed (an upstream the prober cannot parse is covered in
test_upstream_addresses.py)."""

from __future__ import annotations

import pytest

from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit

HUGE = "9" * 30


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/versions/{HUGE}"),
        ("GET", f"/api/v1/versions/v{HUGE}"),
        ("GET", "/api/v1/versions/-1"),
        ("GET", f"/api/v1/shadow/{HUGE}"),
        ("POST", f"/api/v1/versions/{HUGE}/activate"),
        ("DELETE", f"/api/v1/tokens/{HUGE}"),
        ("GET", f"/audit?before={HUGE}"),
        ("GET", f"/audit/denials?before={HUGE}"),
        ("GET", f"/ui/history/diff?a=1&b={HUGE}"),
        ("GET", f"/ui/versions/{HUGE}/reactivate"),
    ],
)
def test_oversized_integers_are_bad_requests(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, path, json={}, headers=api.headers("admin"))
    assert response.status_code == 400, (path, response.status_code, response.text[:200])


def test_integers_in_bodies_are_bounded(api: Api) -> None:
    flip = {"mode": "legacy", "reason": "r", "expected_version": 10**30}
    response = api.client.post("/api/v1/routes/x/flip", json=flip, headers=api.headers("admin"))
    assert response.status_code == 422, response.text
    table = api.get("/versions/active").json()["table"]
    publish = {"table": table, "expected_version": 10**30, "reason": "r"}
    response = api.client.post("/api/v1/versions", json=publish, headers=api.headers("admin"))
    assert response.status_code == 422, response.text


def test_deeply_nested_json_is_refused_before_it_is_parsed(api: Api) -> None:
    deep = b"[" * 3000 + b"]" * 3000
    login = api.client.post("/api/v1/session", content=deep, headers={"content-type": "application/json"})
    assert login.status_code == 400 and "nests deeper" in login.json()["message"]
    deeper = b"[" * 100_000 + b"]" * 100_000
    login = api.client.post("/api/v1/session", content=deeper, headers={"content-type": "application/json"})
    assert login.status_code == 413, "past the login endpoint's size limit, before parsing"
    headers = {**api.headers("admin"), "content-type": "application/json"}
    publish = api.client.post("/api/v1/versions", content=deeper, headers=headers)
    assert publish.status_code == 400 and "nests deeper" in publish.json()["message"]
    strings = b'{"reason": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "x": "\\\\"}'
    assert api.client.post("/api/v1/panic", content=strings, headers=headers).status_code == 422, (
        "brackets inside strings do not count"
    )
