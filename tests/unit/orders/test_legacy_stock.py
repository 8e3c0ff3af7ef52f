"""The legacy stock adapter on a scripted monolith (httpx2.MockTransport): how each answer maps."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx2
import pytest

from acl.catalog.legacy_client import RetryPolicy
from acl.circuit_breaker import CircuitBreaker
from new_services.orders.adapters.legacy_stock import LegacyStock, LegacyStockClient
from new_services.orders.service_layer import (
    InsufficientStock,
    ProductUnavailable,
    StockOutcomeUnknown,
    StockUnavailable,
)

pytestmark = pytest.mark.unit


def product_json(stock: int, status: str = "active") -> dict:
    return {
        "id": 3, "sku": "LS-000003", "name": "Mug", "description": "", "price": "4.50", "currency": "EUR",
        "stock": stock, "status": status, "category": "Home>Kitchen",
        "created_at": "2016-03-01T10:00:00+01:00", "updated_at": "2016-07-01T12:30:00+02:00",
    }  # fmt: skip


class Monolith:
    """A login form (Django's cookies), GET of product 3, and POST .../stock with ``on_post`` (default:
    apply the delta) for the logged-in staff session carrying its CSRF token."""

    def __init__(self, stock: int, status: str = "active") -> None:
        self.stock = stock
        self.status = status
        self.posts: list[dict] = []
        self.keys: list[str | None] = []
        self.logins = 0
        self.sessions: set[str] = set()
        self.on_post: Callable[[httpx2.Request], httpx2.Response] | None = None

    def _login(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":
            return httpx2.Response(
                200, text="<form>", headers={"Set-Cookie": "csrftoken=" + "a" * 32 + "; Path=/"}
            )
        form = parse_qs(request.content.decode())
        assert (
            form["csrfmiddlewaretoken"] == ["a" * 32] and "csrftoken=" + "a" * 32 in request.headers["Cookie"]
        )
        if form["password"] != ["pw"]:
            return httpx2.Response(200, text="<form> Please enter a correct username and password.")
        self.logins += 1
        session = f"s{self.logins}"
        self.sessions.add(session)
        return httpx2.Response(
            302,
            headers=[
                ("Location", "/"),
                ("Set-Cookie", f"sessionid={session}; Path=/; HttpOnly"),
                ("Set-Cookie", f"csrftoken={'b' * 31}{self.logins}; Path=/"),
            ],
        )

    def _authorised(self, request: httpx2.Request) -> bool:
        cookies = dict(
            part.strip().split("=", 1) for part in request.headers.get("Cookie", "").split(";") if part
        )
        return (
            cookies.get("sessionid") in self.sessions
            and request.headers.get("X-CSRFToken") == cookies.get("csrftoken")
            and "Authorization" not in request.headers
        )

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/accounts/login/":
            return self._login(request)
        if request.method == "POST" and not self._authorised(request):
            return httpx2.Response(403, json={"error": {"code": "csrf_failed", "message": "-"}})
        if request.url.path != "/api/products/3" and not request.url.path.startswith("/api/products/3/"):
            return httpx2.Response(404, json={"error": {"code": "not_found", "message": "no"}})
        if request.method == "GET":
            return httpx2.Response(200, json=product_json(self.stock, self.status))
        body = json.loads(request.content)
        self.posts.append(body)
        self.keys.append(request.headers.get("Idempotency-Key"))
        if self.on_post is not None:
            return self.on_post(request)
        if self.stock + body["delta"] < 0:
            return httpx2.Response(
                400, json={"error": {"code": "invalid_body", "message": "-", "field": "delta"}}
            )
        self.stock += body["delta"]
        return httpx2.Response(200, json=product_json(self.stock, self.status))


def adapter(monolith: Monolith, breaker: CircuitBreaker | None = None, password: str = "pw") -> LegacyStock:
    client = LegacyStockClient(
        "http://legacy.test",
        username="staff",
        password=password,
        transport=httpx2.MockTransport(monolith),
        retry=RetryPolicy(attempts=2, backoff=0),
        breaker=breaker or CircuitBreaker(),
        sleep=lambda _: None,
    )
    return LegacyStock(client)


def test_reserve_and_release_send_deltas_and_copy_the_product():
    monolith = Monolith(stock=5)
    stock = adapter(monolith)
    reserved = stock.reserve("c1:reserve:3", 3, 2)
    assert (reserved.stock, reserved.sku, str(reserved.unit_price), reserved.active) == (
        3,
        "LS-000003",
        "4.50",
        True,
    )
    stock.release("c1:reserve:3", 3, 2)
    assert monolith.posts == [{"delta": -2}, {"delta": 2}] and monolith.stock == 5
    assert monolith.keys[0].endswith(":reserve") and monolith.keys[1].endswith(":release")
    assert monolith.logins == 1  # one login serves every call


def test_an_expired_session_logs_in_again_and_repeats_the_refused_call_once():
    monolith = Monolith(stock=5)
    stock = adapter(monolith)
    stock.reserve("a", 3, 1)
    monolith.sessions.clear()  # expired on the monolith's side
    stock.reserve("b", 3, 1)
    assert (monolith.logins, monolith.stock) == (2, 3)


def test_a_refused_login_makes_stock_unavailable_and_changes_nothing():
    monolith = Monolith(stock=5)
    with pytest.raises(StockUnavailable) as refused:
        adapter(monolith, password="wrong").reserve("a", 3, 1)
    assert not isinstance(refused.value, StockOutcomeUnknown)
    assert "staff login" in str(refused.value)
    assert monolith.stock == 5 and monolith.posts == []


def test_not_enough_or_discontinued_is_refused_without_a_write():
    monolith = Monolith(stock=1)
    with pytest.raises(InsufficientStock) as refused:
        adapter(monolith).reserve("s", 3, 2)
    assert (refused.value.requested, refused.value.available) == (2, 1)
    monolith.stock, monolith.status = 9, "discontinued"
    with pytest.raises(InsufficientStock, match="discontinued"):
        adapter(monolith).reserve("s", 3, 1)
    assert monolith.posts == []


def test_a_race_lost_at_the_conditional_update_is_insufficient_stock():
    monolith = Monolith(stock=2)

    def someone_else_took_it(request: httpx2.Request) -> httpx2.Response:
        monolith.stock = 0
        return httpx2.Response(
            400, json={"error": {"code": "invalid_body", "message": "-", "field": "delta"}}
        )

    monolith.on_post = someone_else_took_it
    with pytest.raises(InsufficientStock) as refused:
        adapter(monolith).reserve("s", 3, 2)
    assert refused.value.available == 0


def test_unknown_product_is_unavailable():
    with pytest.raises(ProductUnavailable):
        adapter(Monolith(stock=1)).reserve("s", 4, 1)


@pytest.mark.parametrize(
    "failure,sent",
    [
        (httpx2.ReadTimeout("slow"), 2),
        (httpx2.RemoteProtocolError("reset"), 2),
        (httpx2.Response(500, text="boom"), 1),
    ],
    ids=["timeout", "connection", "server-error"],
)
def test_a_write_without_a_usable_answer_is_in_doubt(failure, sent):
    monolith = Monolith(stock=5)

    def fail(request: httpx2.Request) -> httpx2.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    monolith.on_post = fail
    with pytest.raises(StockOutcomeUnknown):
        adapter(monolith).reserve("s", 3, 1)
    # Sent again only when no answer came, always under the step's key, which the monolith honours.
    assert len(monolith.posts) == sent
    assert monolith.keys == ["s:reserve"] * sent


def test_an_open_circuit_is_unavailable_and_nothing_is_sent():
    monolith = Monolith(stock=5)
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=60)
    breaker.record_failure()
    with pytest.raises(StockUnavailable) as refused:
        adapter(monolith, breaker).reserve("s", 3, 1)
    assert not isinstance(refused.value, StockOutcomeUnknown)
    assert monolith.posts == []


def test_a_failed_release_is_unavailable():
    monolith = Monolith(stock=5)
    monolith.on_post = lambda request: httpx2.Response(503, text="down")
    with pytest.raises(StockUnavailable):
        adapter(monolith).release("s", 3, 1)


def test_settle_sends_the_reservation_again_under_its_key_without_reading_the_stock_first():
    monolith = Monolith(stock=1)  # the lost reservation of 2 was applied: less than 2 is left
    replayed = {}

    def replay_the_recorded_answer(request: httpx2.Request) -> httpx2.Response:
        replayed["key"] = request.headers["Idempotency-Key"]
        return httpx2.Response(200, json=product_json(1), headers={"Idempotent-Replayed": "true"})

    monolith.on_post = replay_the_recorded_answer
    assert adapter(monolith).settle("c1:1:reserve:3", 3, 2) is True
    assert replayed["key"] == "c1:1:reserve:3:reserve" and monolith.posts == [{"delta": -2}]


def test_settle_is_false_when_the_reservation_was_never_applied_and_is_refused_now():
    monolith = Monolith(stock=1)  # not applied, and 2 are no longer there: nothing was taken
    assert adapter(monolith).settle("c1:1:reserve:3", 3, 2) is False
    assert monolith.stock == 1
    assert adapter(Monolith(stock=5)).settle("c1:1:reserve:4", 4, 1) is False  # no such product


@pytest.mark.parametrize(
    "failure", [httpx2.ReadTimeout("slow"), httpx2.Response(500, text="boom")], ids=["timeout", "error"]
)
def test_settle_without_an_answer_is_still_unknown(failure):
    monolith = Monolith(stock=5)

    def fail(request: httpx2.Request) -> httpx2.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    monolith.on_post = fail
    with pytest.raises(StockUnavailable):
        adapter(monolith).settle("s", 3, 1)


class TokenMonolith(Monolith):
    """The stock API behind the service's scoped token instead of a staff session."""

    def __init__(self, stock: int, token: str) -> None:
        super().__init__(stock)
        self.token = token
        self.bearers: list[str | None] = []

    def _authorised(self, request: httpx2.Request) -> bool:
        self.bearers.append(request.headers.get("Authorization"))
        return request.headers.get("Authorization") == f"Bearer {self.token}"


def token_adapter(monolith: Monolith, token: Callable[[], str | None]) -> LegacyStock:
    client = LegacyStockClient(
        "http://legacy.test",
        token=token,
        transport=httpx2.MockTransport(monolith),
        retry=RetryPolicy(attempts=2, backoff=0),
        breaker=CircuitBreaker(),
        sleep=lambda _: None,
    )
    return LegacyStock(client)


def test_the_service_token_is_sent_and_a_rotated_one_read_again_after_a_refusal():
    monolith = TokenMonolith(stock=5, token="first")
    current = {"token": "first"}
    stock = token_adapter(monolith, lambda: current["token"])
    stock.reserve("a", 3, 1)
    # rotated on the monolith (its file rewritten) and in the file this service reads
    monolith.token = current["token"] = "second"
    stock.reserve("b", 3, 1)
    assert monolith.stock == 3 and monolith.logins == 0  # never a login form
    assert monolith.bearers == ["Bearer first", "Bearer first", "Bearer second"]


def test_without_its_token_yet_stock_is_unavailable_and_nothing_is_sent():
    monolith = TokenMonolith(stock=5, token="first")
    with pytest.raises(StockUnavailable, match="service token"):
        token_adapter(monolith, lambda: None).reserve("a", 3, 1)
    assert monolith.posts == []


def test_a_client_needs_a_token_or_a_password():
    with pytest.raises(ValueError, match="service token or a username and password"):
        LegacyStockClient("http://legacy.test")
