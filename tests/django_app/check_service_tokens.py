"""Scoped service tokens in a project unlike LegacyShop (a custom user model logged in by e-mail): the token
file made once and private, the token good only within its scope, run as the service's own user without
a usable password, a rotation picked up from the file."""

import stat

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from suite_project.shop.models import Member

from strangler_django.service_tokens import ServiceTokenMiddleware, ensure_token_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(tmp_path):
    path = tmp_path / "tokens" / "billing"
    configured = {"billing": {"token_file": path, "allow": [("POST", r"/shop/widgets/\d+/colour")]}}
    with override_settings(STRANGLER_SERVICE_TOKENS=configured):
        ensure_token_files()
        yield path


def _served(method, path, token):
    seen = {}

    def view(request):
        seen["user"] = request.user
        seen["service"] = getattr(request, "strangler_service", None)
        seen["csrf_exempt"] = getattr(request, "_dont_enforce_csrf_checks", False)
        return HttpResponse("ok")

    request = getattr(RequestFactory(), method)(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    request.user = None
    return ServiceTokenMiddleware(view)(request), seen


def test_the_token_file_is_made_once_and_kept_private(tokens):
    token = tokens.read_text()
    assert len(token) >= 40 and stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert stat.S_IMODE(tokens.parent.stat().st_mode) == 0o700
    ensure_token_files()
    assert tokens.read_text() == token


def test_within_its_scope_the_token_runs_as_the_services_own_user(tokens):
    answer, seen = _served("post", "/shop/widgets/7/colour", tokens.read_text())
    assert answer.status_code == 200
    assert seen["service"] == "billing" and seen["csrf_exempt"] is True
    assert seen["user"].email == "service-billing" and not seen["user"].has_usable_password()
    assert Member.objects.filter(email="service-billing").count() == 1


def test_outside_its_scope_the_token_is_refused_and_other_tokens_are_left_alone(tokens):
    for method, path in (("get", "/shop/widgets/7/colour"), ("post", "/shop/widgets/7"), ("post", "/admin/")):
        answer, seen = _served(method, path, tokens.read_text())
        assert answer.status_code == 403 and seen == {}, (method, path)
        assert b"billing service's token may not" in answer.content
    answer, seen = _served("post", "/shop/widgets/7/colour", "someone-elses-token")
    assert answer.status_code == 200 and seen["user"] is None and seen["service"] is None


def test_a_rotation_written_to_the_file_is_used_at_once(tokens):
    old = tokens.read_text()
    middleware_seen = _served("post", "/shop/widgets/7/colour", old)[1]
    assert middleware_seen["service"] == "billing"
    tokens.write_text("a-brand-new-token-written-by-the-rotation-0123456789")
    assert _served("post", "/shop/widgets/7/colour", old)[1]["service"] is None
    assert _served("post", "/shop/widgets/7/colour", tokens.read_text())[1]["service"] == "billing"
