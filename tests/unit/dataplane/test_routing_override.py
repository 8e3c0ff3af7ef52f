"""Tester override: signed header or cookie forces a side; unsigned, tampered or expired ones are ignored."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler_proxy.dataplane.routing import UNMATCHED, Target, compile_table
from strangler_proxy.override import OVERRIDE_COOKIE, OVERRIDE_HEADER, sign_override, verify_override
from strangler_proxy.routes import RouteTable, Rule, RuleAction, RuleMatch, ShadowSettings, Upstream

pytestmark = pytest.mark.unit

KEY = b"control-plane-override-key"
NOW = 1_800_000_000


def override_table() -> RouteTable:
    def rule(name: str, path: str, action: RuleAction) -> Rule:
        return Rule(name=name, match=RuleMatch(kind="prefix", path=path), action=action)

    return RouteTable(
        upstreams={
            "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
            "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
        },
        rules=(
            rule("new", "/new", RuleAction(mode="new", upstream="catalog")),
            rule("canary", "/canary", RuleAction(mode="canary", upstream="catalog", weight=50)),
            rule("shadow", "/shadow", RuleAction(mode="shadow", upstream="catalog", shadow=ShadowSettings())),
            rule("old", "/old", RuleAction(mode="legacy")),
        ),
    )


@pytest.fixture
def compiled():
    return compile_table(override_table(), override_key=KEY, clock=lambda: NOW)


def header(token: str) -> list[tuple[bytes, bytes]]:
    return [(OVERRIDE_HEADER.encode(), token.encode())]


def cookie(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", f"a=1; {OVERRIDE_COOKIE}={token}".encode())]


# --- the token itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["legacy", "new"])
def test_a_signed_token_verifies_until_it_expires(side: str) -> None:
    token = sign_override(KEY, side, NOW + 60)
    assert verify_override(KEY, token, NOW) == side
    assert verify_override(KEY, token, NOW + 59.9) == side
    assert verify_override(KEY, token, NOW + 60) is None


def test_a_token_signed_with_another_key_is_refused() -> None:
    assert verify_override(b"another key", sign_override(KEY, "new", NOW + 60), NOW) is None


def test_a_tampered_payload_is_refused() -> None:
    token = sign_override(KEY, "legacy", NOW + 60)
    _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(f"new|{NOW + 60}".encode()).rstrip(b"=").decode()
    assert verify_override(KEY, f"{forged}.{signature}", NOW) is None
    longer = base64.urlsafe_b64encode(f"legacy|{NOW + 10**6}".encode()).rstrip(b"=").decode()
    assert verify_override(KEY, f"{longer}.{signature}", NOW) is None


def test_an_unsigned_token_is_refused() -> None:
    payload = base64.urlsafe_b64encode(f"new|{NOW + 60}".encode()).rstrip(b"=").decode()
    for token in (payload, f"{payload}.", f"{payload}.AAAA", "new", ""):
        assert verify_override(KEY, token, NOW) is None


def test_a_signed_payload_that_is_not_a_side_is_refused() -> None:
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(f"both|{NOW + 60}".encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(KEY, payload.encode(), hashlib.sha256).digest()).rstrip(
        b"="
    )
    assert verify_override(KEY, f"{payload}.{signature.decode()}", NOW) is None


def test_signing_refuses_an_unknown_side_or_an_empty_key() -> None:
    with pytest.raises(ValueError, match="side"):
        sign_override(KEY, "both", NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        sign_override(b"", "new", NOW)


@settings(deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_verifies(token: str) -> None:
    assert verify_override(KEY, token, NOW) is None


@settings(deadline=None)
@given(st.sampled_from(["legacy", "new"]), st.integers(min_value=0, max_value=2**40), st.data())
def test_flipping_any_character_breaks_the_token(side: str, expires_at: int, data: st.DataObject) -> None:
    token = sign_override(KEY, side, expires_at)
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("ABCabc012-_.").filter(lambda c: c != token[index]))
    tampered = token[:index] + replacement + token[index + 1 :]
    assert verify_override(KEY, tampered, expires_at - 1) is None


# --- the override in routing ---------------------------------------------------------------------


@pytest.mark.parametrize("route", ["new", "canary", "shadow"])
@pytest.mark.parametrize(("side", "target"), [("legacy", Target.LEGACY), ("new", Target.NEW)])
def test_a_valid_header_forces_the_side_on_routes_with_a_new_upstream(compiled, route, side, target) -> None:
    decision = compiled.decide("GET", f"/{route}/x", header(sign_override(KEY, side, NOW + 60)))
    assert (decision.route, decision.target, decision.overridden) == (route, target, True)
    assert decision.upstream == ("catalog" if target is Target.NEW else "legacy")
    assert decision.shadow_upstream is None and decision.set_cookie is None


def test_the_cookie_works_like_the_header(compiled) -> None:
    decision = compiled.decide("GET", "/new/x", cookie(sign_override(KEY, "legacy", NOW + 60)))
    assert (decision.target, decision.overridden) == (Target.LEGACY, True)


def test_the_header_wins_over_the_cookie(compiled) -> None:
    headers = header(sign_override(KEY, "new", NOW + 60)) + cookie(sign_override(KEY, "legacy", NOW + 60))
    assert compiled.decide("GET", "/canary", headers).target is Target.NEW


@pytest.mark.parametrize(
    "token",
    [
        sign_override(KEY, "legacy", NOW - 1),
        sign_override(b"wrong", "legacy", NOW + 60),
        "legacy",
        sign_override(KEY, "legacy", NOW + 60)[:-2] + "xx",
    ],
    ids=["expired", "wrong-key", "unsigned", "tampered"],
)
def test_invalid_overrides_are_ignored(compiled, token: str) -> None:
    for headers in (header(token), cookie(token)):
        decision = compiled.decide("GET", "/new/x", headers)
        assert (decision.target, decision.overridden) == (Target.NEW, False)


def test_legacy_rules_and_unmatched_requests_stay_on_the_legacy(compiled) -> None:
    token = sign_override(KEY, "new", NOW + 60)
    old = compiled.decide("GET", "/old/x", header(token))
    assert (old.target, old.overridden) == (Target.LEGACY, False)
    assert compiled.decide("GET", "/elsewhere", header(token)).route == UNMATCHED


def test_without_a_key_every_override_is_ignored() -> None:
    compiled = compile_table(override_table(), override_key=None, clock=lambda: NOW)
    decision = compiled.decide("GET", "/new/x", header(sign_override(KEY, "legacy", NOW + 60)))
    assert (decision.target, decision.overridden) == (Target.NEW, False)
