"""Secrets for a fleet: configured by value or file (the same on every host), generated only when none
is configured, and rotated with an overlap window in which the old and the new key both verify."""

from __future__ import annotations

from pathlib import Path

import pytest

from acl.identity_verifier import CustomerIdentity, IdentityVerifier, load_identity_key
from strangler_proxy.dataplane.routing import compile_table
from strangler_proxy.identity_token import BadSignature, identity_key_path
from strangler_proxy.keyring import KeyRing
from strangler_proxy.override import sign_override
from strangler_proxy.routes import RouteTable
from strangler_proxy.secrets import (
    SecretError,
    configured_secret,
    load_key_ring,
    resolve_secret,
    rotate_secret,
)

CUSTOMER = CustomerIdentity(user_id=7, username="ada", name="Ada")


def test_a_secret_comes_from_its_variable_then_its_file_then_the_home(tmp_path: Path) -> None:
    home_file = tmp_path / "home" / "secrets" / "identity.key"
    mounted = tmp_path / "run-secrets" / "identity_key"
    mounted.parent.mkdir()
    mounted.write_text("from-the-mounted-file-0123456789\n")
    assert resolve_secret("IDENTITY_KEY", home_file, environ={"STRANGLER_IDENTITY_KEY": "v" * 32}) == "v" * 32
    environ = {"STRANGLER_IDENTITY_KEY_FILE": str(mounted)}
    assert resolve_secret("IDENTITY_KEY", home_file, environ=environ) == "from-the-mounted-file-0123456789"
    assert not home_file.exists()  # configured: nothing generated
    generated = resolve_secret("IDENTITY_KEY", home_file, environ={})
    assert home_file.read_text().strip() == generated
    assert resolve_secret("IDENTITY_KEY", home_file, environ={}) == generated


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STRANGLER_OVERRIDE_KEY": "x" * 32, "STRANGLER_OVERRIDE_KEY_FILE": "/x"}, "both"),
        ({"STRANGLER_OVERRIDE_KEY_FILE": "/nonexistent/override"}, "STRANGLER_OVERRIDE_KEY_FILE="),
    ],
)
def test_a_misconfigured_secret_is_an_error_naming_the_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SecretError, match=message):
        configured_secret("OVERRIDE_KEY", environ)


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SecretError, match="empty"):
        configured_secret("SESSION_KEY", {"STRANGLER_SESSION_KEY_FILE": str(empty)})


def test_two_homes_given_one_key_verify_each_others_identities(tmp_path: Path, monkeypatch) -> None:
    """Two data-plane hosts (two homes) with the fleet's key: a service verifies what either signs,
    which fails when each home generates its own key."""
    monkeypatch.setenv("STRANGLER_IDENTITY_KEY", "the-fleets-identity-key-0123456789")
    signer = IdentityVerifier(load_identity_key(tmp_path / "host-a"), clock=lambda: 1000.0)
    verifier = IdentityVerifier(load_identity_key(tmp_path / "host-b"), clock=lambda: 1000.0)
    assert verifier.identify({"X-Strangler-Identity": signer.sign(CUSTOMER)}) == CUSTOMER
    monkeypatch.delenv("STRANGLER_IDENTITY_KEY")
    own_a = IdentityVerifier(load_identity_key(tmp_path / "host-a"), clock=lambda: 1000.0)
    own_b = IdentityVerifier(load_identity_key(tmp_path / "host-b"), clock=lambda: 1000.0)
    with pytest.raises(BadSignature):
        own_b.identify({"X-Strangler-Identity": own_a.sign(CUSTOMER)})


def test_during_the_overlap_window_the_old_and_the_new_identity_key_verify(tmp_path: Path) -> None:
    old, new = "old-identity-key-0123456789abcdef", "new-identity-key-0123456789abcdef"
    environ = {
        "STRANGLER_IDENTITY_KEY": new,
        "STRANGLER_IDENTITY_KEY_PREVIOUS": old,
        "STRANGLER_IDENTITY_KEY_PREVIOUS_UNTIL": "2026-12-05T00:00:00+00:00",
    }
    ring = load_key_ring("IDENTITY_KEY", tmp_path / "identity.key", environ=environ)
    window_end = ring.previous_until
    assert window_end is not None
    before, after = window_end - 60, window_end + 1
    old_token = IdentityVerifier(old, clock=lambda: before).sign(CUSTOMER, ttl=3600)
    new_token = IdentityVerifier(ring, clock=lambda: before).sign(CUSTOMER, ttl=3600)
    assert (
        IdentityVerifier(new, clock=lambda: before).identify({"X-Strangler-Identity": new_token}) == CUSTOMER
    )
    during = IdentityVerifier(ring, clock=lambda: before)
    assert during.identify({"X-Strangler-Identity": old_token}) == CUSTOMER
    assert during.identify({"X-Strangler-Identity": new_token}) == CUSTOMER
    later = IdentityVerifier(ring, clock=lambda: after)
    assert later.identify({"X-Strangler-Identity": new_token}) == CUSTOMER
    with pytest.raises(BadSignature):
        later.identify({"X-Strangler-Identity": old_token})


def test_a_previous_key_without_the_end_of_its_window_is_refused(tmp_path: Path) -> None:
    environ = {"STRANGLER_OVERRIDE_KEY": "n" * 32, "STRANGLER_OVERRIDE_KEY_PREVIOUS": "o" * 32}
    with pytest.raises(SecretError, match="STRANGLER_OVERRIDE_KEY_PREVIOUS_UNTIL"):
        load_key_ring("OVERRIDE_KEY", tmp_path / "override.key", environ=environ)


def test_rotating_a_homes_override_key_honours_old_tokens_until_the_window_ends(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "override.key"
    old = load_key_ring("OVERRIDE_KEY", key_file, environ={}).current
    rotate_secret(key_file, overlap_s=600, now=10_000)
    ring = load_key_ring("OVERRIDE_KEY", key_file, environ={})
    assert ring.current != old and ring.previous == old and ring.previous_until == 10_600
    old_token = sign_override(old, "new", 20_000)
    new_token = sign_override(ring.current, "new", 20_000)
    headers_of = lambda token: [(b"x-strangler-override", token.encode())]  # noqa: E731
    table = RouteTable.model_validate(
        {
            "upstreams": {
                "legacy": {"name": "legacy", "url": "http://127.0.0.1:9"},
                "svc": {"name": "svc", "url": "http://127.0.0.1:10"},
            },
            "rules": [
                {
                    "name": "shop",
                    "match": {"path": "/"},
                    "action": {"mode": "canary", "upstream": "svc", "weight": 0},
                }
            ],
        }
    )
    now = {"t": 10_500.0}
    compiled = compile_table(table, override_key=ring, clock=lambda: now["t"])
    assert compiled.decide("GET", "/x", headers_of(new_token)).target == "new"
    assert compiled.decide("GET", "/x", headers_of(old_token)).target == "new"
    now["t"] = 10_601.0
    assert compiled.decide("GET", "/x", headers_of(new_token)).target == "new"
    assert compiled.decide("GET", "/x", headers_of(old_token)).target == "legacy"


def test_a_configured_key_ignores_the_homes_previous_file(tmp_path: Path) -> None:
    key_file = identity_key_path(tmp_path)
    rotate_secret(key_file, overlap_s=600)
    ring = load_key_ring("IDENTITY_KEY", key_file, environ={"STRANGLER_IDENTITY_KEY": "c" * 32})
    assert ring == KeyRing(b"c" * 32)
