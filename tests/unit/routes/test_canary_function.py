"""The canary bucket function every front door shares: fixed by vectors an engine computed on its own."""

from __future__ import annotations

import itertools

import pytest

from strangler_proxy.routes.canary import (
    BUCKET_COOKIE,
    BUCKETS,
    bucket_of,
    is_bucket_key,
    key_from_session,
    on_new_side,
    set_cookie_value,
)

pytestmark = pytest.mark.unit

# Computed by HAProxy 2.6 with the converter chain the HAProxy engine renders
# (sha2(256),bytes(0,6),hex,hex2i,mod(10000) and str(strangler-bucket:),concat(,txn.sid,),
# sha2(256),bytes(0,12),ub64enc), not by this code: a change of the function here moves users
# between sides when they switch front doors, and these would fail.
ENGINE_BUCKETS = {"abcdefabcdefabcdef": 3581, "T--WPRzAeXe7Wm0_": 4816}
ENGINE_SESSION_KEYS = {
    "abc": "T--WPRzAeXe7Wm0_",
    "x7Yq2mZ9sessionid000000000000001": "l7T7t4YSadQR5N60",
    "élan": "znxwCTLQvYizbzcc",
}


@pytest.mark.parametrize(("key", "bucket"), sorted(ENGINE_BUCKETS.items()))
def test_the_bucket_is_the_one_the_engine_computes(key: str, bucket: int) -> None:
    assert bucket_of(key) == bucket


@pytest.mark.parametrize(("session", "key"), sorted(ENGINE_SESSION_KEYS.items()))
def test_the_key_derived_from_a_session_is_the_one_the_engine_derives(session: str, key: str) -> None:
    assert key_from_session(session) == key
    assert is_bucket_key(key)


def test_buckets_spread_evenly_over_ten_thousand_users() -> None:
    counts = [0] * 10
    for user in range(10_000):
        counts[bucket_of(f"user-{user:06d}") * 10 // BUCKETS] += 1
    assert max(abs(count - 1000) for count in counts) <= 100


def test_raising_the_weight_never_moves_a_bucket_back_to_legacy() -> None:
    for bucket, (low, high) in itertools.product(range(0, BUCKETS, 37), [(0, 1), (10, 50), (50, 100)]):
        assert not (on_new_side(bucket, low) and not on_new_side(bucket, high))


@pytest.mark.parametrize("value", ["short", "x" * 65, "has space in it!!", "ünïcödé-ünïcödé-ü"])
def test_a_cookie_outside_the_key_alphabet_or_length_is_not_a_key(value: str) -> None:
    assert not is_bucket_key(value)


def test_the_cookie_is_long_lived_http_only_and_lax() -> None:
    value = set_cookie_value("k" * 16).decode()
    assert value.startswith(f"{BUCKET_COOKIE}={'k' * 16};")
    assert {"Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={400 * 24 * 3600}"} <= {
        part.strip() for part in value.split(";")
    }
