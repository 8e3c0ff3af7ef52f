"""Server-rendered pages: catalog, cart forms with CSRF, login/logout, checkout, order history, admin."""

from __future__ import annotations

import re

import pytest

from legacy_monolith.catalog.models import Product
from legacy_monolith.orders.models import Order
from tests.unit.legacy_monolith.factories import PASSWORD, make_customer, make_product, make_staff

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def csrf_token(response) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert match, "the page has no CSRF token"
    return match.group(1).decode()


def login(client, username: str) -> None:
    page = client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert response.status_code == 302, response.content


@pytest.mark.parametrize("path", ["/", "/products/"])
def test_product_list_searches_and_paginates(client, path):
    for index in range(30):
        make_product(name=f"Knife {index:02d}")
    make_product(name="Frying pan", category="Home>Kitchen>Cookware")
    make_product(name="Knife gone", status=Product.STATUS_DISCONTINUED)
    first = client.get(path)
    assert first.status_code == 200
    assert b"31 products" in first.content
    assert b"Page 1 of 2" in first.content
    second = client.get(path, {"q": "knife", "page": 2})
    assert b"Knife 29" in second.content
    assert b"Knife 00" not in second.content
    assert b"Knife gone" not in second.content
    by_category = client.get(path, {"category": "Home>Kitchen>Cookware"})
    assert b"Frying pan" in by_category.content
    assert b"Knife 01" not in by_category.content


def test_product_detail_and_404(client):
    product = make_product(name="Chef knife", price="49.00")
    response = client.get(f"/products/{product.prd_id}/")
    assert response.status_code == 200
    assert b"Chef knife" in response.content
    assert b"49.00 EUR" in response.content
    missing = client.get("/products/999999/")
    assert missing.status_code == 404
    assert b"Page not found" in missing.content


def test_cart_forms_need_csrf_and_work_with_it(csrf_client):
    knife = make_product(name="Chef knife", price="10.00")
    pan = make_product(name="Pan", price="2.50")
    detail = csrf_client.get(f"/products/{knife.prd_id}/")
    token = csrf_token(detail)
    assert csrf_client.post(f"/cart/add/{knife.prd_id}/", {"quantity": 2}).status_code == 403
    added = csrf_client.post(f"/cart/add/{knife.prd_id}/", {"quantity": 2, "csrfmiddlewaretoken": token})
    assert added.status_code == 302
    csrf_client.post(f"/cart/add/{pan.prd_id}/", {"quantity": 1, "csrfmiddlewaretoken": token})
    cart = csrf_client.get("/cart/")
    assert b"Chef knife" in cart.content
    assert b"22.50 EUR" in cart.content
    assert b"Cart (3)" in cart.content
    token = csrf_token(cart)
    csrf_client.post(
        "/cart/update/", {f"qty_{knife.prd_id}": 5, f"qty_{pan.prd_id}": 0, "csrfmiddlewaretoken": token}
    )
    cart = csrf_client.get("/cart/")
    assert b"50.00 EUR" in cart.content
    assert b"Pan" not in cart.content.split(b"<main>")[1]
    csrf_client.post(f"/cart/remove/{knife.prd_id}/", {"csrfmiddlewaretoken": token})
    assert b"Your cart is empty" in csrf_client.get("/cart/").content


def test_cart_refuses_bad_quantities_and_discontinued_products(client):
    product = make_product()
    gone = make_product(status=Product.STATUS_DISCONTINUED)
    client.post(f"/cart/add/{product.prd_id}/", {"quantity": 0})
    client.post(f"/cart/add/{gone.prd_id}/", {"quantity": 1})
    assert client.post("/cart/add/999999/", {"quantity": 1}).status_code == 404
    assert b"Your cart is empty" in client.get("/cart/").content
    assert client.get(f"/cart/add/{product.prd_id}/").status_code == 405


def test_checkout_requires_login(client):
    response = client.get("/checkout/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/checkout/")


def test_login_checkout_history_and_logout(csrf_client):
    make_customer("anna")
    product = make_product(name="Chef knife", price="10.00", stock=3)
    login(csrf_client, "anna")
    token = csrf_token(csrf_client.get(f"/products/{product.prd_id}/"))
    csrf_client.post(f"/cart/add/{product.prd_id}/", {"quantity": 2, "csrfmiddlewaretoken": token})
    summary = csrf_client.get("/checkout/")
    assert summary.status_code == 200
    assert b"20.00 EUR" in summary.content
    placed = csrf_client.post("/checkout/", {"csrfmiddlewaretoken": csrf_token(summary)}, follow=True)
    order = Order.objects.get()
    assert placed.redirect_chain[-1][0] == f"/orders/{order.ord_no}/"
    assert f"Your order {order.ord_no} was placed".encode() in placed.content
    product.refresh_from_db()
    assert product.stk_qty == 1
    history = csrf_client.get("/orders/")
    assert order.ord_no.encode() in history.content
    assert csrf_client.get(f"/orders/{order.ord_no}/").status_code == 200

    logout_token = csrf_token(history)
    assert csrf_client.get("/accounts/logout/").status_code == 405
    assert csrf_client.post("/accounts/logout/", {"csrfmiddlewaretoken": logout_token}).status_code == 302
    assert csrf_client.get("/orders/").status_code == 302


def test_checkout_refuses_insufficient_stock_with_a_clear_message(client):
    make_customer("anna")
    product = make_product(name="Rare pan", stock=1)
    client.login(username="anna", password=PASSWORD)
    client.post(f"/cart/add/{product.prd_id}/", {"quantity": 3})
    response = client.post("/checkout/")
    assert response.status_code == 409
    assert b"Not enough stock for Rare pan" in response.content
    assert b"you asked for 3, 1 left" in response.content
    product.refresh_from_db()
    assert product.stk_qty == 1
    assert Order.objects.count() == 0


def test_empty_cart_checkout_redirects_to_the_cart(client):
    make_customer("anna")
    client.login(username="anna", password=PASSWORD)
    response = client.get("/checkout/", follow=True)
    assert response.redirect_chain[-1][0] == "/cart/"
    assert b"Your cart is empty" in response.content


def test_other_customers_orders_are_404(client):
    make_customer("anna")
    make_customer("ben")
    product = make_product()
    client.login(username="anna", password=PASSWORD)
    client.post(f"/cart/add/{product.prd_id}/", {"quantity": 1})
    client.post("/checkout/")
    order = Order.objects.get()
    client.logout()
    client.login(username="ben", password=PASSWORD)
    assert client.get(f"/orders/{order.ord_no}/").status_code == 404


def test_wrong_login_shows_an_error(client):
    make_customer("anna")
    response = client.post("/accounts/login/", {"username": "anna", "password": "wrong"})
    assert response.status_code == 200
    assert b"Your username and password didn't match" in response.content


def test_admin_lists_products_for_staff(client):
    admin = make_staff("boss")
    admin.is_superuser = True
    admin.save()
    make_product(name="Chef knife")
    assert client.get("/admin/").status_code == 302
    client.login(username="boss", password=PASSWORD)
    for path in ["/admin/", "/admin/catalog/product/", "/admin/orders/order/", "/admin/customers/customer/"]:
        assert client.get(path).status_code == 200, path
    assert b"Chef knife" in client.get("/admin/catalog/product/").content


def test_static_css_is_served_with_debug_off(client, settings):
    settings.DEBUG = False
    ours = client.get("/static/legacyshop/shop.css")
    assert ours.status_code == 200
    assert b"masthead" in b"".join(ours.streaming_content)
    admin_css = client.get("/static/admin/css/base.css")
    assert admin_css.status_code == 200
    assert client.get("/static/nope.css").status_code == 404


def test_unknown_category_keeps_the_search_words(client):
    make_product(name="Chef knife")
    make_product(name="Frying pan")
    response = client.get("/products/", {"q": "knife", "category": "No>Such>Path"})
    assert b"Chef knife" in response.content
    assert b"Frying pan" not in response.content


def test_error_handlers_answer_json_under_api_and_html_elsewhere(rf):
    from legacy_monolith.legacyshop import views

    for handler, status in [
        (views.server_error, 500),
        (views.bad_request, 400),
        (views.permission_denied, 403),
    ]:
        api = handler(rf.get("/api/products"))
        assert api.status_code == status
        assert api["Content-Type"] == "application/json"
        page = handler(rf.get("/products/"))
        assert page.status_code == status
        assert page["Content-Type"].startswith("text/html")
    assert views.csrf_failure(rf.post("/cart/update/"), reason="no token").status_code == 403


def test_unknown_page_is_an_html_404_with_the_shop_layout(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"LegacyShop" in response.content


def test_admin_product_add_copies_the_category_path_and_stamps_times(client):
    from legacy_monolith.catalog.models import Category

    admin = make_staff("boss")
    admin.is_superuser = True
    admin.save()
    make_product(category="Home>Kitchen>Knives")
    category = Category.objects.get(cat_path="Home>Kitchen>Knives")
    client.login(username="boss", password=PASSWORD)
    form = {
        "prd_cd": "LS-900001",
        "prd_nm": "Bread knife",
        "prd_desc": "",
        "unit_prc": "24.50",
        "stk_qty": "4",
        "sts_cd": "A",
        "ctg": str(category.pk),
    }
    response = client.post("/admin/catalog/product/add/", form)
    assert response.status_code == 302, response.content[:3000]
    product = Product.objects.get(prd_cd="LS-900001")
    assert product.cat_path == "Home>Kitchen>Knives"
    assert product.crt_dt == product.upd_dt
    assert product.crt_dt.microsecond == 0
    refused = client.post("/admin/catalog/product/add/", {**form, "prd_cd": "LS-900002", "unit_prc": "24.5"})
    assert refused.status_code == 200
    assert b"two decimals" in refused.content
    assert not Product.objects.filter(prd_cd="LS-900002").exists()
