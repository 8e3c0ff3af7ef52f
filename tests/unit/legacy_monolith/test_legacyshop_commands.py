"""The seed and urls_json management commands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from legacy_monolith.catalog.models import Category, Product
from legacy_monolith.customers.models import Customer
from legacy_monolith.orders.models import Order, OrderLine

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def snapshot() -> dict[str, list]:
    """Everything the seed wrote, without surrogate keys (sequences differ after --reset)."""
    return {
        "categories": list(
            Category.objects.order_by("cat_path").values_list("cat_path", "ctg_nm", "parent__cat_path")
        ),
        "products": list(
            Product.objects.order_by("prd_cd").values_list(
                "prd_cd",
                "prd_nm",
                "prd_desc",
                "unit_prc",
                "stk_qty",
                "sts_cd",
                "cat_path",
                "crt_dt",
                "upd_dt",
            )
        ),
        "customers": list(
            Customer.objects.order_by("user__username").values_list(
                "user__username", "cust_nm", "phone", "addr_txt", "crt_dt"
            )
        ),
        "orders": list(
            Order.objects.order_by("ord_no").values_list(
                "ord_no", "cust__user__username", "ord_sts", "tot_amt", "ord_dt"
            )
        ),
        "lines": list(
            OrderLine.objects.order_by("ord__ord_no", "prd__prd_cd").values_list(
                "ord__ord_no", "prd__prd_cd", "qty", "unit_prc"
            )
        ),
    }


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed", *args, stdout=out)
    return out.getvalue()


def test_seed_creates_consistent_data():
    output = seed("--products", "120", "--customers", "6", "--orders", "15", "--seed", "42")
    assert "120 products, 6 customers and 15 orders" in output
    assert Product.objects.count() == 120
    assert Customer.objects.count() == 6
    assert Order.objects.count() == 15
    for product in Product.objects.select_related("ctg")[:50]:
        assert product.cat_path == product.ctg.cat_path
        assert product.cat_path.count(">") == 2
        assert product.stk_qty >= 0
        assert product.unit_prc == f"{product.price:.2f}"
        assert product.upd_dt >= product.crt_dt
    assert Product.objects.filter(sts_cd="D").exists()
    for order in Order.objects.prefetch_related("lines"):
        assert order.ord_no == f"ORD-{order.ord_dt:%Y%m%d}-{order.ord_no[-6:]}"
        assert sum(line.line_total for line in order.lines.all()) == order.total
    assert authenticate(username="demo", password="demo-password-123") is not None
    staff = authenticate(username="staff", password="staff-password-123")
    assert staff is not None
    assert staff.is_staff


def test_seed_is_deterministic_and_refuses_to_seed_twice():
    seed("--products", "80", "--customers", "5", "--orders", "10", "--seed", "7")
    first = snapshot()
    with pytest.raises(CommandError, match="--reset"):
        seed("--products", "80", "--customers", "5", "--orders", "10", "--seed", "7")
    seed("--products", "80", "--customers", "5", "--orders", "10", "--seed", "7", "--reset")
    assert snapshot() == first
    seed("--products", "80", "--customers", "5", "--orders", "10", "--seed", "8", "--reset")
    assert snapshot()["products"] != first["products"]


def test_seed_rejects_nonsense_counts():
    with pytest.raises(CommandError, match="customers"):
        seed("--customers", "0")
    with pytest.raises(CommandError, match="products"):
        seed("--products", "-1")


def test_urls_json_lists_every_route_with_methods_and_views():
    out = StringIO()
    call_command("urls_json", stdout=out)
    routes = json.loads(out.getvalue())
    by_pattern = {route["pattern"]: route for route in routes}
    assert by_pattern["/api/products"] == {
        "pattern": "/api/products",
        "name": "catalog_api:product_list",
        "methods": ["GET", "HEAD"],
        "view": "legacy_monolith.catalog.api.product_list",
    }
    assert by_pattern["/api/products/<int:pk>/stock"]["methods"] == ["POST"]
    assert by_pattern["/products/<int:pk>/"]["name"] == "catalog:product_detail"
    assert by_pattern["/products/<int:pk>/"]["methods"] == ["GET", "HEAD"]
    assert by_pattern["/cart/add/<int:product_id>/"]["methods"] == ["POST"]
    assert by_pattern["/healthz"]["methods"] == ["GET", "HEAD"]
    assert by_pattern["/accounts/login/"]["view"] == "django.contrib.auth.views.LoginView"
    assert by_pattern["/accounts/login/"]["methods"] == ["GET", "POST", "PUT"]
    assert by_pattern["/healthz"]["name"] == "strangler:healthz"
    assert any(pattern.startswith("/admin/") for pattern in by_pattern)
    patterns = [route["pattern"] for route in routes]
    assert patterns.index("/api/products") < patterns.index("/api(?:/(?P<path>.*))?")


def test_urls_json_can_leave_out_the_admin():
    out = StringIO()
    call_command("urls_json", "--exclude-admin", "--indent", "0", stdout=out)
    routes = json.loads(out.getvalue())
    assert routes
    assert not any(route["pattern"].startswith("/admin/") for route in routes)


def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_seed_s_default_size_follows_the_stack_s_variable(monkeypatch):
    """strangler.toml runs `seed` bare: LEGACYSHOP_SEED_PRODUCTS asks for a smaller first seed."""
    monkeypatch.setenv("LEGACYSHOP_SEED_PRODUCTS", "3")
    call_command("seed", "--customers", "1", "--orders", "0", stdout=StringIO())
    assert Product.objects.count() == 3
