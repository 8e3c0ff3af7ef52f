"""The product routes of the JSON API: the contract the catalog service re-implements (API.md)."""

from __future__ import annotations

import base64
import json

import pytest

from legacy_monolith.catalog.models import Product
from tests.unit.legacy_monolith.factories import PASSWORD, make_customer, make_product, make_staff

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def test_product_body_has_exactly_the_documented_shape(client):
    product = make_product(name="Chef knife", sku="LS-000017", price="19.90", stock=12)
    response = client.get(f"/api/products/{product.prd_id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "id": product.prd_id,
        "sku": "LS-000017",
        "name": "Chef knife",
        "description": "A product for tests.",
        "price": "19.90",
        "currency": "EUR",
        "stock": 12,
        "status": "active",
        "category": "Home>Kitchen>Knives",
        "created_at": "2016-03-01T10:00:00+01:00",
        "updated_at": "2016-07-01T12:30:00+02:00",
    }


def test_unknown_product_is_a_json_404(client):
    response = client.get("/api/products/999")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Product 999 does not exist."}}


def test_list_paginates_with_relative_links_keeping_the_filters(client):
    for index in range(5):
        make_product(name=f"Paring knife {index}")
    make_product(name="Frying pan", category="Home>Kitchen>Cookware")
    response = client.get("/api/products?page=2&page_size=2&q=knife&sort=name")
    body = response.json()
    assert response.status_code == 200
    assert (body["count"], body["page"], body["page_size"], body["num_pages"]) == (5, 2, 2, 3)
    assert [item["name"] for item in body["results"]] == ["Paring knife 2", "Paring knife 3"]
    assert body["next"] == "/api/products?page=3&page_size=2&q=knife&sort=name"
    assert body["previous"] == "/api/products?page=1&page_size=2&q=knife&sort=name"
    last = client.get(body["next"]).json()
    assert last["next"] is None
    assert [item["name"] for item in last["results"]] == ["Paring knife 4"]


def test_list_defaults_and_empty_result(client):
    body = client.get("/api/products").json()
    assert body == {
        "count": 0,
        "page": 1,
        "page_size": 20,
        "num_pages": 1,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_category_filter_matches_the_path_prefix_by_whole_segments(client):
    knife = make_product(category="Home>Kitchen>Knives")
    pan = make_product(category="Home>Kitchen>Cookware")
    make_product(category="Home>KitchenWare>Misc")
    make_product(category="Garden>Tools>Spades")
    ids = [item["id"] for item in client.get("/api/products?category=Home>Kitchen").json()["results"]]
    assert ids == [knife.prd_id, pan.prd_id]
    exact = client.get("/api/products", {"category": "Home>Kitchen>Knives"}).json()
    assert [item["id"] for item in exact["results"]] == [knife.prd_id]


def test_status_price_range_and_sorting(client):
    cheap = make_product(name="B cheap", price="5.00", sku="LS-000003")
    dear = make_product(name="A dear", price="120.00", sku="LS-000001")
    middle = make_product(name="C middle", price="19.90", sku="LS-000002")
    gone = make_product(name="D gone", price="10.00", status=Product.STATUS_DISCONTINUED, sku="LS-000004")

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/products?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("status=discontinued") == [gone.prd_id]
    assert ids("status=active&sort=price") == [cheap.prd_id, middle.prd_id, dear.prd_id]
    # Numeric, not string, comparison: "120.00" < "19.90" as text.
    assert ids("sort=-price") == [dear.prd_id, middle.prd_id, gone.prd_id, cheap.prd_id]
    assert ids("min_price=10&max_price=100&sort=price") == [gone.prd_id, middle.prd_id]
    assert ids("sort=name") == [dear.prd_id, cheap.prd_id, middle.prd_id, gone.prd_id]
    assert ids("sort=-sku") == [gone.prd_id, cheap.prd_id, middle.prd_id, dear.prd_id]
    assert ids("sort=id") == [cheap.prd_id, dear.prd_id, middle.prd_id, gone.prd_id]
    assert ids("q=ls-000002") == [middle.prd_id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=2", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=x", "page_size"),
        ("min_price=cheap", "min_price"),
        ("max_price=-1", "max_price"),
        ("min_price=NaN", "min_price"),
        ("min_price=1e3", "min_price"),
        ("min_price=1_000", "min_price"),
        ("max_price=19.999", "max_price"),
        ("page=%2B2", "page"),
        ("page_size=1_0", "page_size"),
        ("sort=colour", "sort"),
        ("status=deleted", "status"),
    ],
)
def test_bad_parameters_are_400_with_the_field(client, query, field):
    response = client.get(f"/api/products?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["field"] == field
    assert error["message"]


def test_wrong_method_is_a_json_405(client):
    response = client.delete("/api/products")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/products/", "/api", "/api/products/abc"])
def test_unknown_api_paths_are_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_staff_sets_and_moves_stock_with_basic_auth_without_csrf(csrf_client):
    make_staff()
    product = make_product(stock=5)
    url = f"/api/products/{product.prd_id}/stock"
    response = csrf_client.post(url, {"quantity": 12}, content_type="application/json", **basic("clerk"))
    assert response.status_code == 200
    assert response.json()["stock"] == 12
    response = csrf_client.post(url, {"delta": -2}, content_type="application/json", **basic("clerk"))
    assert response.json()["stock"] == 10
    product.refresh_from_db()
    assert product.stk_qty == 10
    assert product.upd_dt > product.crt_dt


@pytest.mark.parametrize(
    "body",
    [
        {"delta": -6},
        {"quantity": -1},
        {"quantity": 1, "delta": 1},
        {},
        {"quantity": "3"},
        {"delta": True},
        [1],
    ],
)
def test_stock_update_refuses_invalid_or_negative_results(client, body):
    make_staff()
    product = make_product(stock=5)
    response = client.post(
        f"/api/products/{product.prd_id}/stock",
        json.dumps(body),
        content_type="application/json",
        **basic("clerk"),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"
    product.refresh_from_db()
    assert product.stk_qty == 5


def test_stock_update_rejects_malformed_json(client):
    make_staff()
    product = make_product()
    response = client.post(
        f"/api/products/{product.prd_id}/stock", "{nope", content_type="application/json", **basic("clerk")
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


def test_stock_update_auth_errors(client):
    make_customer("shopper")
    make_staff()
    product = make_product()
    url = f"/api/products/{product.prd_id}/stock"
    anonymous = client.post(url, {"quantity": 1}, content_type="application/json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert anonymous["WWW-Authenticate"].startswith('Basic realm="LegacyShop API"')
    wrong_password = client.post(
        url, {"quantity": 1}, content_type="application/json", **basic("clerk", "bad")
    )
    assert wrong_password.status_code == 401
    customer = client.post(url, {"quantity": 1}, content_type="application/json", **basic("shopper"))
    assert customer.status_code == 403
    assert customer.json()["error"]["code"] == "permission_denied"
    missing = client.post(
        "/api/products/999/stock", {"quantity": 1}, content_type="application/json", **basic("clerk")
    )
    assert missing.status_code == 404


def test_session_stock_update_needs_the_csrf_token(csrf_client):
    make_staff()
    product = make_product(stock=5)
    url = f"/api/products/{product.prd_id}/stock"
    assert csrf_client.login(username="clerk", password=PASSWORD)
    refused = csrf_client.post(url, {"quantity": 7}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    token = csrf_client.get("/api/cart").cookies["csrftoken"].value
    accepted = csrf_client.post(url, {"quantity": 7}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200
    assert accepted.json()["stock"] == 7


def test_stock_update_is_post_only(client):
    product = make_product()
    response = client.get(f"/api/products/{product.prd_id}/stock")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_times_in_winter_and_summer_carry_their_offsets():
    from datetime import datetime

    from legacy_monolith.legacyshop.api import local_isoformat

    assert local_isoformat(datetime(2016, 1, 15, 8, 5, 9, 123456)) == "2016-01-15T08:05:09+01:00"
    assert local_isoformat(datetime(2016, 8, 15, 8, 5, 9)) == "2016-08-15T08:05:09+02:00"


def test_head_is_allowed_wherever_get_is(client):
    product = make_product()
    response = client.head(f"/api/products/{product.prd_id}")
    assert response.status_code == 200
    assert response.content == b""
