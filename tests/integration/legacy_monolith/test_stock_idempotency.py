"""The monolith honours an ``Idempotency-Key`` on its stock API (strangler_django's ``idempotent``), under
gunicorn with two workers: a retried or concurrent change with one key moves the stock once. The calls
are made as the orders service makes them: with its scoped service token, which the monolith writes at
its first start."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest

from tests.integration.legacy_monolith.test_legacyshop_gunicorn import Shop, shop  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("legacyshop_gunicorn")]


def _service(running: Shop) -> dict[str, str]:
    token = (running.data_dir / "service_tokens" / "orders").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


def _stock(running: Shop, product_id: int) -> int:
    return int(httpx2.get(f"{running.base_url}/api/products/{product_id}").json()["stock"])


def _adjust(running: Shop, product_id: int, delta: int, key: str | None) -> httpx2.Response:
    headers = {**_service(running), **({"Idempotency-Key": key} if key else {})}
    return httpx2.post(
        f"{running.base_url}/api/products/{product_id}/stock",
        json={"delta": delta},
        headers=headers,
        timeout=30,
    )


def test_a_retried_change_is_answered_again_and_applied_once(shop: Shop) -> None:  # noqa: F811
    before = _stock(shop, 11)
    first = _adjust(shop, 11, -2, "saga-7:0:reserve:11:reserve")
    again = _adjust(shop, 11, -2, "saga-7:0:reserve:11:reserve")
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _stock(shop, 11) == before - 2
    other = _adjust(shop, 11, +2, "saga-7:0:reserve:11:reserve")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert _stock(shop, 11) == before - 2
    # Without a key, as before: every call applies.
    assert _adjust(shop, 11, +1, None).status_code == _adjust(shop, 11, +1, None).status_code == 200
    assert _stock(shop, 11) == before


def test_concurrent_calls_with_one_key_move_the_stock_once(shop: Shop) -> None:  # noqa: F811
    before = _stock(shop, 12)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _adjust(shop, 12, -1, "saga-8:0:reserve:12:reserve"), range(4)))
    assert {answer.status_code for answer in answers} == {200}, [a.text for a in answers]
    assert len({answer.text for answer in answers}) == 1
    assert _stock(shop, 12) == before - 1


def test_a_refused_change_is_not_remembered(shop: Shop) -> None:  # noqa: F811
    stock = _stock(shop, 13)
    refused = _adjust(shop, 13, -(stock + 1), "saga-9:0:reserve:13:reserve")
    assert refused.status_code == 400
    assert (
        _adjust(shop, 13, +1, "saga-9:0:reserve:13:reserve").status_code == 200
    )  # a new request body is fine
    assert _stock(shop, 13) == stock + 1
