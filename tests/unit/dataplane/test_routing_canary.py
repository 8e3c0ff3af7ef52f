"""Sticky canary: one side while the weight holds, only legacy -> new as it rises, split within 2 points."""

from __future__ import annotations

import itertools

import pytest

from strangler_proxy.dataplane.routing import BUCKET_COOKIE, Target, bucket_of, compile_table, on_new_side
from strangler_proxy.routes import RouteTable, Rule, RuleAction, RuleMatch, Upstream

pytestmark = pytest.mark.unit

USERS = 10_000


def canary_table(weight: int, *, name: str = "products") -> RouteTable:
    return RouteTable(
        version=3,
        upstreams={
            "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
            "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
        },
        rules=(
            Rule(
                name=name,
                match=RuleMatch(kind="prefix", path="/api/products"),
                action=RuleAction(mode="canary", upstream="catalog", weight=weight),
            ),
        ),
    )


def cookie_header(**cookies: str) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode())]


def issued_key(set_cookie: bytes) -> str:
    first = set_cookie.decode().split(";")[0]
    name, _, value = first.partition("=")
    assert name == BUCKET_COOKIE
    return value


def test_a_request_without_cookie_gets_a_long_lived_http_only_bucket_cookie() -> None:
    decision = compile_table(canary_table(50)).decide("GET", "/api/products", [])
    assert decision.set_cookie is not None
    attributes = {part.strip().split("=")[0] for part in decision.set_cookie.decode().split(";")[1:]}
    assert {"Path", "Max-Age", "HttpOnly", "SameSite"} <= attributes
    assert b"SameSite=Lax" in decision.set_cookie and b"Path=/" in decision.set_cookie
    assert len(issued_key(decision.set_cookie)) >= 16


def test_the_bucket_cookie_keeps_a_user_on_one_side_and_is_not_reissued() -> None:
    compiled = compile_table(canary_table(50))
    for _ in range(50):
        first = compiled.decide("GET", "/api/products", [])
        key = issued_key(first.set_cookie)
        for _ in range(5):
            again = compiled.decide("GET", "/api/products/1", cookie_header(**{BUCKET_COOKIE: key}))
            assert again.target is first.target
            assert again.set_cookie is None


def test_the_side_survives_a_new_session_id_at_login() -> None:
    compiled = compile_table(canary_table(50))
    for user in range(200):
        anonymous = compiled.decide("GET", "/api/products", cookie_header(sessionid=f"anon-{user}"))
        key = issued_key(anonymous.set_cookie)
        logged_in = compiled.decide(
            "GET", "/api/products", cookie_header(sessionid=f"cycled-{user}", **{BUCKET_COOKIE: key})
        )
        assert logged_in.target is anonymous.target


def test_a_session_without_bucket_cookie_gets_the_same_side_every_time() -> None:
    compiled = compile_table(canary_table(50))
    for user in range(200):
        sides = {
            compiled.decide("GET", "/api/products", cookie_header(sessionid=f"s{user}")).target
            for _ in range(3)
        }
        assert len(sides) == 1


def test_a_malformed_bucket_cookie_is_replaced() -> None:
    compiled = compile_table(canary_table(50))
    decision = compiled.decide("GET", "/api/products", cookie_header(**{BUCKET_COOKIE: "short"}))
    assert decision.set_cookie is not None and issued_key(decision.set_cookie) != "short"


def test_weight_zero_and_hundred_are_all_or_nothing() -> None:
    none, every = compile_table(canary_table(0)), compile_table(canary_table(100))
    for user in range(1000):
        headers = cookie_header(sessionid=f"user-{user}")
        assert none.decide("GET", "/api/products", headers).target is Target.LEGACY
        assert every.decide("GET", "/api/products", headers).target is Target.NEW


@pytest.mark.parametrize("weight", [1, 5, 10, 25, 50, 75, 99])
def test_split_over_ten_thousand_users_is_within_two_points(weight: int) -> None:
    compiled = compile_table(canary_table(weight))
    on_new = sum(
        compiled.decide("GET", "/api/products", cookie_header(sessionid=f"user-{user}")).target is Target.NEW
        for user in range(USERS)
    )
    assert abs(100 * on_new / USERS - weight) <= 2


def test_split_over_ten_thousand_fresh_bucket_cookies_is_within_two_points() -> None:
    counter = itertools.count()
    compiled = compile_table(canary_table(30), new_bucket_key=lambda: f"fresh-client-{next(counter):08d}")
    on_new = sum(compiled.decide("GET", "/api/products", []).target is Target.NEW for _ in range(USERS))
    assert abs(100 * on_new / USERS - 30) <= 2


def test_raising_the_weight_only_moves_users_from_legacy_to_new() -> None:
    headers = [cookie_header(**{BUCKET_COOKIE: f"user-key-{user:012d}"}) for user in range(USERS)]
    previous: list[Target] | None = None
    for weight in (0, 1, 5, 10, 20, 35, 50, 80, 100):
        compiled = compile_table(canary_table(weight))
        sides = [compiled.decide("GET", "/api/products", h).target for h in headers]
        if previous is not None:
            moved_back = sum(
                old is Target.NEW and new is Target.LEGACY for old, new in zip(previous, sides, strict=True)
            )
            assert moved_back == 0
            assert sides.count(Target.NEW) >= previous.count(Target.NEW)
        previous = sides


def test_the_bucket_does_not_depend_on_the_rule() -> None:
    key = "some-user-key-0001"
    headers = cookie_header(**{BUCKET_COOKIE: key})
    for weight in (10, 40, 70):
        a = compile_table(canary_table(weight, name="products")).decide("GET", "/api/products", headers)
        b = compile_table(canary_table(weight, name="other")).decide("GET", "/api/products", headers)
        assert a.target is b.target
        assert (a.target is Target.NEW) is on_new_side(bucket_of(key), weight)


# ---- one writer: the weight splits reads only -------------------------------------------------------

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
SAFE = ("GET", "HEAD", "OPTIONS")


@pytest.mark.parametrize("weight", [50, 100])
def test_every_write_reaches_the_legacy_while_reads_split(weight: int) -> None:
    compiled = compile_table(canary_table(weight))
    users = [cookie_header(**{BUCKET_COOKIE: f"writer-key-{user:010d}"}) for user in range(2000)]
    for method in UNSAFE:
        decisions = [compiled.decide(method, "/api/products/7/stock", h) for h in users]
        assert {(d.target, d.upstream) for d in decisions} == {(Target.LEGACY, "legacy")}, method
    for method in SAFE:
        on_new = sum(compiled.decide(method, "/api/products/7", h).target is Target.NEW for h in users)
        assert abs(100 * on_new / len(users) - weight) <= 3, method


def test_a_write_of_a_user_on_the_new_side_still_gets_the_bucket_cookie_and_keeps_the_side() -> None:
    compiled = compile_table(canary_table(100))
    write = compiled.decide("POST", "/api/products", [])
    assert write.target is Target.LEGACY and write.set_cookie is not None
    read = compiled.decide(
        "GET", "/api/products", cookie_header(**{BUCKET_COOKIE: issued_key(write.set_cookie)})
    )
    assert read.target is Target.NEW and read.set_cookie is None
