"""The orders service's scoped token on LegacyShop under gunicorn (strangler_django's service tokens): made
at first start and kept private, good for the stock calls the service needs and for nothing staff-only,
and rotated by rewriting its file, without a restart."""

from __future__ import annotations

import secrets
import stat

import httpx2
import pytest

from tests.integration.legacy_monolith.test_legacyshop_gunicorn import Shop, shop  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("legacyshop_gunicorn")]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_token_does_the_stock_calls_and_nothing_staff_only(shop: Shop) -> None:  # noqa: F811
    path = shop.data_dir / "service_tokens" / "orders"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text().strip()
    with httpx2.Client(base_url=shop.base_url, timeout=30) as client:
        before = client.get("/api/products/14", headers=_bearer(token)).json()["stock"]
        moved = client.post(
            "/api/products/14/stock",
            json={"delta": -1},
            headers={**_bearer(token), "Idempotency-Key": "token-test:reserve"},
        )
        assert moved.status_code == 200, moved.text
        again = client.post(
            "/api/products/14/stock",
            json={"delta": -1},
            headers={**_bearer(token), "Idempotency-Key": "token-test:reserve"},
        )
        assert again.headers["Idempotent-Replayed"] == "true"
        assert client.get("/api/products/14").json()["stock"] == before - 1
        # Everything else, staff-only or not, is refused before any view runs.
        for method, where in (
            ("GET", "/admin/"),
            ("GET", "/admin/catalog/product/"),
            ("GET", "/api/orders"),
            ("POST", "/api/cart"),
            ("PUT", "/api/products/14/stock"),
            ("GET", "/internal/session/resolve"),
        ):
            refused = client.request(method, where, headers=_bearer(token))
            assert refused.status_code == 403, (method, where, refused.text[:200])
            assert refused.json()["error"]["code"] == "permission_denied", (method, where)
        # Another bearer token is nobody: the stock API asks for credentials.
        stranger = client.post("/api/products/14/stock", json={"delta": 1}, headers=_bearer("not-a-token"))
        assert stranger.status_code == 401


def test_a_rotated_token_is_used_at_once_and_the_old_one_no_more(shop: Shop) -> None:  # noqa: F811
    path = shop.data_dir / "service_tokens" / "orders"
    old, new = path.read_text().strip(), secrets.token_urlsafe(40)
    path.write_text(new)
    with httpx2.Client(base_url=shop.base_url, timeout=30) as client:
        # every gunicorn worker reads the file again: several calls reach both workers
        for _ in range(4):
            assert (
                client.post("/api/products/15/stock", json={"delta": 0}, headers=_bearer(new)).status_code
                == 200
            )
            assert (
                client.post("/api/products/15/stock", json={"delta": 0}, headers=_bearer(old)).status_code
                == 401
            )
