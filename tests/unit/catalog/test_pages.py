"""HTML pages over the in-memory catalog: list (search, pagination, lenient pages), detail, errors."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from new_services.kit.csrf import SECRET_LENGTH, unmask_token

pytestmark = pytest.mark.unit


def rows(html: str) -> list[str]:
    return re.findall(r"<td>(LS-\d+)</td>", html)


def test_list_shows_active_products_by_name_24_per_page(client: FlaskClient) -> None:
    response = client.get("/products/")
    html = response.get_data(as_text=True)
    assert response.status == "200 OK"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Cookie" in response.headers["Vary"]
    assert '<p class="count">45 products</p>' in html  # 5 of 50 are discontinued
    assert len(rows(html)) == 24
    assert rows(html)[:2] == ["LS-000001", "LS-000004"]  # "Bamboo item 01", "Bamboo item 04", ...
    assert 'Page 1 of 2\n  <a rel="next" href="?page=2">next &raquo;</a>' in html
    assert client.get("/").get_data(as_text=True) == html


def test_search_keeps_the_query_in_pagination_links(client: FlaskClient) -> None:
    html = client.get("/products/?q=oak&category=Home&page=1").get_data(as_text=True)
    assert '<input type="text" name="q" value="oak" maxlength="100" id="id_q">' in html
    assert '<option value="Home" selected>Home</option>' in html
    assert '<option value="Home&gt;Kitchen&gt;Knives">Home&gt;Kitchen&gt;Knives</option>' in html
    assert '<p class="count">15 products</p>' in html  # Oak items 03..48 filed under Home, less item 30
    assert rows(html)[0] == "LS-000003"


def test_an_unknown_category_keeps_the_search_words_and_marks_the_field(client: FlaskClient) -> None:
    html = client.get("/products/?category=Nowhere&q=oak").get_data(as_text=True)
    assert (
        '<select name="category" aria-invalid="true" aria-describedby="id_category_error" id="id_category">'
        in html
    )
    assert '<p class="count">15 products</p>' in html  # still filtered by "oak"
    too_long = client.get(f"/products/?q={'x' * 101}").get_data(as_text=True)
    assert 'maxlength="100" aria-invalid="true" aria-describedby="id_q_error" id="id_q">' in too_long
    assert '<p class="count">45 products</p>' in too_long


def test_pages_answer_get_and_head_only(client: FlaskClient) -> None:
    client.set_cookie("csrftoken", "z" * 32)
    response = client.put("/products/", headers={"X-CSRFToken": "z" * 32})
    assert (response.status_code, response.headers["Allow"], response.data) == (405, "GET, HEAD", b"")
    assert client.head("/products/1/").status_code == 200


def test_pages_out_of_range_or_not_numbers_are_forgiven(client: FlaskClient) -> None:
    last = client.get("/products/?page=2").get_data(as_text=True)
    assert client.get("/products/?page=99").get_data(as_text=True) == last
    assert client.get("/products/?page=0").get_data(as_text=True) == last
    first = client.get("/products/?page=x").get_data(as_text=True)
    assert "Page 1 of 2" in first and '<a rel="prev" href="?page=1">' in last


def test_empty_search(client: FlaskClient) -> None:
    html = client.get("/products/?q=nothing-like-this").get_data(as_text=True)
    assert '<p class="count">0 products</p>' in html
    assert "No products match your search." in html
    assert 'class="pagination"' not in html


def test_detail_page_escapes_like_django_and_carries_a_csrf_token(client: FlaskClient) -> None:
    response = client.get("/products/3/")
    html = response.get_data(as_text=True)
    assert "<title>Oak item 03 | LegacyShop</title>" in html
    assert "<p>Line one<br>Line &lt;two&gt; &amp; &quot;three&quot;</p>" in html
    assert '<p class="price">3.90 EUR</p>' in html and '<p class="stock">3 in stock</p>' in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', html)
    assert token is not None
    cookie = response.headers["Set-Cookie"]
    secret = re.match(r"csrftoken=([A-Za-z0-9]{32});", cookie)
    assert secret is not None and "Max-Age=31449600" in cookie and "SameSite=Lax" in cookie
    assert unmask_token(token.group(1)) == secret.group(1)
    assert len(secret.group(1)) == SECRET_LENGTH


def test_detail_reuses_the_visitors_csrf_secret(client: FlaskClient) -> None:
    client.set_cookie("csrftoken", "Q" * 32)
    html = client.get("/products/3/").get_data(as_text=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', html)
    assert token is not None and unmask_token(token.group(1)) == "Q" * 32


def test_discontinued_and_out_of_stock(client: FlaskClient) -> None:
    assert '<p class="error">This product is discontinued.</p>' in client.get("/products/10/").get_data(
        as_text=True
    )
    assert '<p class="stock">Out of stock</p>' in client.get("/products/9/").get_data(as_text=True)


def test_missing_pages_render_the_shop_error_page(client: FlaskClient) -> None:
    response = client.get("/products/999/")
    assert response.status == "404 Not Found"
    html = response.get_data(as_text=True)
    assert "<h1>Page not found</h1><p>/products/999/</p>" in html
    assert "<title>Page not found | LegacyShop</title>" in html


def test_missing_slash_redirects_permanently(client: FlaskClient) -> None:
    response = client.get("/products?q=a%20b")
    assert response.status == "301 Moved Permanently"
    assert response.headers["Location"] == "/products/?q=a%20b"
    assert client.get("/products/3").headers["Location"] == "/products/3/"
    assert "X-Frame-Options" not in response.headers


def test_posting_to_a_page_without_csrf_is_forbidden(client: FlaskClient) -> None:
    response = client.post("/products/")
    assert response.status_code == 403
    assert "<h1>Forbidden</h1><p>CSRF cookie not set.</p>" in response.get_data(as_text=True)
