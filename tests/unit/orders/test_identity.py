"""Signed identity tokens (shared core) and their verification for services (acl.identity_verifier)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from acl.identity_verifier import CustomerIdentity, IdentityVerifier, claims_for, load_identity_key
from strangler_proxy.identity_token import (
    IDENTITY_HEADER,
    BadSignature,
    ExpiredIdentity,
    MalformedIdentity,
    identity_claims,
    sign_identity,
    verify_identity,
)

pytestmark = pytest.mark.unit

KEY = "k" * 32
DEMO = CustomerIdentity(user_id=42, username="demo", name="Demo Customer")


def test_round_trip_returns_the_claims_without_exp():
    token = sign_identity(KEY, {"sub": "42", "username": "demo"}, expires_at=1_000)
    assert token.startswith("v1.")
    assert verify_identity(KEY, token, now=999) == {"sub": "42", "username": "demo"}


def test_expiry_is_exclusive_and_accepts_aware_datetimes():
    expires = datetime(2026, 1, 1, tzinfo=UTC)
    token = sign_identity(KEY, {"sub": "1"}, expires_at=expires)
    assert verify_identity(KEY, token, now=expires.timestamp() - 1) == {"sub": "1"}
    with pytest.raises(ExpiredIdentity):
        verify_identity(KEY, token, now=expires)
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_identity(KEY, {}, expires_at=datetime(2026, 1, 1))


def test_tampered_payload_is_refused():
    token = sign_identity(KEY, {"sub": "42", "username": "demo"}, expires_at=1_000)
    version, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["sub"] = "1"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignature):
        verify_identity(KEY, f"{version}.{forged_payload}.{signature}", now=0)


def test_another_key_is_refused():
    token = sign_identity("x" * 32, {"sub": "42"}, expires_at=1_000)
    with pytest.raises(BadSignature):
        verify_identity(KEY, token, now=0)


@pytest.mark.parametrize(
    "value", ["", "v1.abc", "v2.a.b", "v1.!!.abc", "v1.e30.", "42", "v1." + "a" * 5000 + ".b"]
)
def test_malformed_tokens_are_refused(value):
    with pytest.raises(MalformedIdentity):
        verify_identity(KEY, value, now=0)


def test_exp_cannot_be_smuggled_in_claims_and_short_keys_are_refused():
    with pytest.raises(ValueError, match="reserved"):
        sign_identity(KEY, {"exp": 10**12}, expires_at=0)
    with pytest.raises(ValueError, match="16 bytes"):
        sign_identity("short", {}, expires_at=0)


def test_verifier_reads_only_the_signed_header():
    clock = lambda: 100.0  # noqa: E731
    verifier = IdentityVerifier(KEY, clock=clock)
    assert verifier.identify({}) is None
    assert verifier.identify({"X-User": "42", "X-User-Id": "42", "Cookie": "sessionid=abc"}) is None
    assert verifier.identify({IDENTITY_HEADER: verifier.sign(DEMO, ttl=5)}) == DEMO


def test_verifier_refuses_client_supplied_unsigned_or_expired_identity():
    verifier = IdentityVerifier(KEY, clock=lambda: 100.0)
    unsigned = base64.urlsafe_b64encode(json.dumps(claims_for(DEMO)).encode()).decode()
    with pytest.raises(MalformedIdentity):
        verifier.identify({IDENTITY_HEADER: unsigned})
    with pytest.raises(MalformedIdentity):
        verifier.identify({IDENTITY_HEADER: "42"})
    expired = sign_identity(KEY, claims_for(DEMO), expires_at=100)
    with pytest.raises(ExpiredIdentity):
        verifier.identify({IDENTITY_HEADER: expired})


@pytest.mark.parametrize(
    "claims",
    [
        {"username": "demo"},
        {"sub": "abc", "username": "demo"},
        {"sub": "0", "username": "demo"},
        {"sub": "42"},
        {"sub": "42", "username": "demo", "staff": "yes"},
    ],
)
def test_verifier_refuses_signed_but_incomplete_claims(claims):
    verifier = IdentityVerifier(KEY, clock=lambda: 0.0)
    with pytest.raises(MalformedIdentity):
        verifier.identify({IDENTITY_HEADER: sign_identity(KEY, claims, expires_at=60)})


def test_key_file_is_created_once_and_shared(tmp_path):
    first = load_identity_key(tmp_path)
    assert load_identity_key(tmp_path) == first
    assert (tmp_path / "secrets" / "identity.key").stat().st_mode & 0o777 == 0o600


def test_claims_from_the_monoliths_session_resolution_verify_into_a_customer():
    resolved = {"user_id": 5, "username": "customer0001", "is_staff": False, "customer_id": 3}
    claims = identity_claims(user_id=resolved["user_id"], username=resolved["username"], is_staff=False)
    token = sign_identity(KEY, claims, expires_at=100)
    customer = IdentityVerifier(KEY, clock=lambda: 0.0).identify({IDENTITY_HEADER: token})
    assert customer == CustomerIdentity(user_id=5, username="customer0001", name="customer0001")
