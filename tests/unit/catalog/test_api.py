"""The JSON API over the in-memory catalog: shape, key order, links, errors, methods, headers."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.unit

PRODUCT_KEYS = [
    "id", "sku", "name", "description", "price", "currency", "stock", "status", "category",
    "created_at", "updated_at",
]  # fmt: skip


def body(response) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(response.data)


def test_default_listing(client: FlaskClient) -> None:
    response = client.get("/api/products")
    assert response.status == "200 OK"
    assert response.headers["Content-Type"] == "application/json"
    data = body(response)
    assert list(data) == ["count", "page", "page_size", "num_pages", "next", "previous", "results"]
    assert (data["count"], data["page"], data["page_size"], data["num_pages"]) == (50, 1, 20, 3)
    assert data["next"] == "/api/products?page=2&page_size=20" and data["previous"] is None
    assert [item["id"] for item in data["results"]] == list(range(1, 21))
    assert list(data["results"][0]) == PRODUCT_KEYS
    # Django's JsonResponse separators, byte for byte
    assert response.data.startswith(b'{"count": 50, "page": 1, "page_size": 20, "num_pages": 3, "next": ')


def test_links_keep_filters_in_the_monolith_order(client: FlaskClient) -> None:
    data = body(client.get("/api/products?sort=-name&q=oak&page=2&page_size=5&status=active&min_price="))
    assert data["next"] == "/api/products?page=3&page_size=5&q=oak&status=active&sort=-name"
    assert data["previous"] == "/api/products?page=1&page_size=5&q=oak&status=active&sort=-name"


def test_detail_renders_local_time_with_offset(client: FlaskClient) -> None:
    data = body(client.get("/api/products/3"))
    assert list(data) == PRODUCT_KEYS
    assert data["created_at"] == "2016-03-04T10:00:00+01:00"
    assert data["updated_at"] == "2017-07-04T10:00:00+02:00"
    assert (data["price"], data["currency"], data["category"]) == ("3.90", "EUR", "Home>Kitchen>Knives")


def test_repeated_parameters_use_the_last_value(client: FlaskClient) -> None:
    assert body(client.get("/api/products?page_size=5&page_size=2"))["page_size"] == 2


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("page=0", "page", "page must be at least 1, got 0."),
        ("page=x", "page", "page must be a positive integer, got 'x'."),
        ("page=9", "page", "page 9 is out of range (1-3)."),
        ("page_size=101", "page_size", "page_size must be at most 100, got 101."),
        ("status=gone", "status", "status must be one of active, discontinued; got 'gone'."),
        ("sort=-id", "sort", "sort must be one of id, name, -name, price, -price, sku, -sku; got '-id'."),
        ("page=-1", "page", "page must be a positive integer, got '-1'."),
        ("page=%C2%B2", "page", "page must be a positive integer, got '²'."),
        (
            "min_price=abc",
            "min_price",
            "min_price must be a non-negative decimal number like 19.90, got 'abc'.",
        ),
        (
            "max_price=-1",
            "max_price",
            "max_price must be a non-negative decimal number like 19.90, got '-1'.",
        ),
        (
            "max_price=1.005",
            "max_price",
            "max_price must be a non-negative decimal number like 19.90, got '1.005'.",
        ),
        (
            "sort=bad&page=0",
            "sort",
            "sort must be one of id, name, -name, price, -price, sku, -sku; got 'bad'.",
        ),
    ],
)
def test_bad_parameters(client: FlaskClient, query: str, field: str, message: str) -> None:
    response = client.get(f"/api/products?{query}")
    assert response.status == "400 Bad Request"
    assert body(response) == {"error": {"code": "invalid_parameter", "message": message, "field": field}}


def test_not_found(client: FlaskClient) -> None:
    response = client.get("/api/products/999")
    assert response.status_code == 404
    assert response.data == b'{"error": {"code": "not_found", "message": "Product 999 does not exist."}}'
    for path in ("/api/products/abc", "/api/products/", "/api", "/api/nothing/here"):
        assert body(client.get(path)) == {
            "error": {"code": "not_found", "message": f"No API endpoint at {path}."}
        }


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
def test_safe_wrong_methods_get_the_json_405(client: FlaskClient, method: str) -> None:
    response = client.open("/api/products/1", method=method)
    assert response.status == "405 Method Not Allowed"
    assert response.headers["Allow"] == "GET, HEAD, PATCH"
    assert body(response)["error"] == {
        "code": "method_not_allowed",
        "message": f"Method {method} is not allowed here; use GET, HEAD, PATCH.",
    }


def test_head_is_allowed_wherever_get_is(client: FlaskClient) -> None:
    response = client.head("/api/products/1")
    assert response.status_code == 200 and response.data == b""


def test_unsafe_methods_need_csrf_before_the_405(client: FlaskClient) -> None:
    response = client.put("/api/products")
    assert response.status_code == 403
    assert body(response)["error"] == {
        "code": "csrf_failed",
        "message": "CSRF verification failed: CSRF cookie not set.",
    }
    secret = "a" * 32
    client.set_cookie("csrftoken", secret)
    assert client.delete("/api/products/1", headers={"X-CSRFToken": secret}).status_code == 405
    wrong = client.delete("/api/products/1", headers={"X-CSRFToken": "b" * 32})
    assert (
        body(wrong)["error"]["message"]
        == "CSRF verification failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect."
    )


def test_stock_endpoint_answers_post_only_and_401_without_identity(client: FlaskClient) -> None:
    assert client.get("/api/products/1/stock").headers["Allow"] == "POST"
    anonymous = client.post("/api/products/1/stock", json={"quantity": 1})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    # basic auth is the monolith's: the service sees no identity in it
    basic = client.post(
        "/api/products/1/stock", json={"quantity": 1}, headers={"Authorization": "Basic eDp5"}
    )
    assert basic.status_code == 401 and body(basic)["error"]["code"] == "not_authenticated"


def test_security_headers_like_the_monolith(client: FlaskClient) -> None:
    headers = client.get("/api/products/1").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_health_and_metrics(client: FlaskClient) -> None:
    assert body(client.get("/healthz")) == {"status": "ok"}
    assert body(client.get("/readyz")) == {"status": "ready", "checks": {"database": "ok"}}
    client.get("/api/products/1", headers={"X-Request-ID": "abc"})
    metrics = client.get("/metrics").data.decode()
    assert (
        'catalog_http_requests_total{endpoint="api.product_detail",method="GET",status="200"} 1.0' in metrics
    )
    assert "catalog_http_request_duration_seconds_bucket" in metrics


def test_json_logs_carry_the_request_id(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    client.get("/api/products/2", headers={"X-Request-ID": "req-42"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request"]
    assert access[-1]["request_id"] == "req-42"
    assert (access[-1]["path"], access[-1]["status"]) == ("/api/products/2", 200)


def test_foreign_origins_are_refused_unless_trusted(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    secret = "t" * 32
    client.set_cookie("csrftoken", secret)
    headers = {"X-CSRFToken": secret, "Origin": "https://evil.example"}
    refused = client.delete("/api/products/1", headers=headers)
    assert body(refused)["error"]["message"] == (
        "CSRF verification failed: Origin checking failed - https://evil.example"
        " does not match any trusted origins."
    )
    assert (
        client.delete("/api/products/1", headers={**headers, "Origin": "http://localhost"}).status_code == 405
    )
    settings = app.extensions["catalog"].settings.model_copy(
        update={"csrf_trusted_origins_text": "https://evil.example"}
    )
    app.extensions["catalog"] = app.extensions["catalog"].__class__(
        settings=settings, uow_factory=app.extensions["catalog"].uow_factory, readiness=lambda: {}
    )
    assert client.delete("/api/products/1", headers=headers).status_code == 405
