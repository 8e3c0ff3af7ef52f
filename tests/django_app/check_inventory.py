"""``manage.py urls_json``: path, re_path, nested includes with namespaces, class-based views, DRF routers."""

import importlib.util
import json
from io import StringIO

import pytest
from django.core.management import call_command


def _routes():
    out = StringIO()
    call_command("urls_json", stdout=out)
    return {route["pattern"]: route for route in json.loads(out.getvalue())}


def test_paths_regexes_nested_namespaces_and_class_based_views():
    routes = _routes()
    assert routes["/shop/widgets/"] == {
        "pattern": "/shop/widgets/",
        "name": "shop:widgets",
        "methods": ["GET"],
        "view": "suite_project.shop.views.WidgetList",
    }
    assert routes["/shop/widgets/<int:pk>/colour"]["name"] == "shop:detail:colour"
    assert routes["/shop/widgets/<int:pk>/colour"]["methods"] == ["GET", "PUT"]
    assert routes["/shop/about/(?P<section>[a-z]+)/"]["view"] == "suite_project.shop.views.about"
    assert routes["/shop/about/(?P<section>[a-z]+)/"]["methods"] is None
    assert routes["/internal/sync/apply"]["methods"] == ["POST"]
    assert routes["/healthz"]["name"] == "strangler:healthz"
    patterns = list(routes)
    assert patterns.index("/shop/widgets/") < patterns.index("/shop/widgets/<int:pk>/colour")


@pytest.mark.skipif(
    importlib.util.find_spec("rest_framework") is None, reason="Django REST Framework not installed"
)
def test_drf_router_routes_carry_the_viewset_actions():
    routes = _routes()
    assert routes["/api/widgets/"]["name"] == "api:widget-list"
    assert routes["/api/widgets/"]["methods"] == ["GET", "POST"]
    assert routes["/api/widgets/"]["view"].endswith("WidgetViewSet")
    assert routes["/api/widgets/(?P<pk>[^/.]+)/"]["methods"] == ["DELETE", "GET", "PATCH", "PUT"]
