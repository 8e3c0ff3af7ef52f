"""Both front doors give a new service the same signed identity for every credential the monolith
accepts: its session cookie, HTTP basic auth and an API token scheme listed in
``STRANGLER_IDENTITY_AUTH_SCHEMES`` (an Authorization wins over the cookie, as on the monolith's API
views; an unlisted scheme is not resolved). Resolutions are cached (one lookup in the monolith per
credential and period; for basic auth, one password hash), anonymous sessions too; credentials the
monolith refuses are not cached (each attempt is checked again), and the legacy side never gets the
header.

The test legacy's ``/internal/session/resolve`` knows session ``good-session``, basic auth
``demo:demo-password`` and ``Token demo-api-token``, all user 7
(tests/integration/dataplane/upstream_app.py)."""

from __future__ import annotations

import time

import pytest

from strangler_proxy.identity_token import verify_identity
from strangler_proxy.routes import Rule, RuleAction, RuleMatch
from strangler_proxy.secrets import load_or_create_secret
from tests.conformance.conftest import FrontDoor

pytestmark = pytest.mark.integration

GOOD_BASIC = "Basic ZGVtbzpkZW1vLXBhc3N3b3Jk"  # demo:demo-password
WRONG_BASIC = "Basic ZGVtbzp3cm9uZw=="  # demo:wrong


def _moved(door: FrontDoor) -> None:
    door.publish(
        [
            Rule(
                name="moved",
                match=RuleMatch(path="/echo/moved"),
                action=RuleAction(mode="new", upstream="catalog"),
            )
        ]
    )


def _identities(door: FrontDoor, path: str, headers: dict[str, str]) -> list[str]:
    answer = door.get(path, headers)
    assert answer.status == 200, answer.body[:300]
    return [value for name, value in answer.json()["headers"] if name.lower() == "x-strangler-identity"]


def _resolved(door: FrontDoor) -> int:
    return int(door.legacy.counters().get("resolved", 0))


def test_a_session_and_basic_auth_become_the_same_signed_identity(door: FrontDoor) -> None:
    _moved(door)
    key = load_or_create_secret(door.home / "secrets" / "identity.key")
    before = _resolved(door)
    [by_session] = _identities(door, "/echo/moved/1", {"Cookie": "csrftoken=x; sessionid=good-session"})
    [by_basic] = _identities(
        door, "/echo/moved/2", {"Authorization": GOOD_BASIC, "Cookie": "sessionid=stale"}
    )
    for token in (by_session, by_basic):
        claims = verify_identity(key, token, time.time())
        assert (claims["sub"], claims["username"], claims["staff"]) == ("7", "demo", False)
    assert _resolved(door) == before + 2
    assert _identities(door, "/echo/moved/3", {"Authorization": GOOD_BASIC}) == [by_basic]
    assert _identities(door, "/echo/moved/4", {"Cookie": "sessionid=good-session"}) == [by_session]
    assert _resolved(door) == before + 2, "both cached: one lookup per credential and period"
    assert _identities(door, "/echo/other", {"Authorization": GOOD_BASIC}) == [], "the legacy gets none"


def test_refused_basic_auth_is_anonymous_and_asked_again_each_time(door: FrontDoor) -> None:
    _moved(door)
    before = _resolved(door)
    for attempt in range(3):
        headers = {"Authorization": WRONG_BASIC, "X-Strangler-Identity": "forged"}
        assert _identities(door, f"/echo/moved/wrong{attempt}", headers) == []
    assert _resolved(door) == before + 3, "a refused credential is never remembered"
    assert _identities(door, "/echo/moved/nobody", {"Cookie": "sessionid=nobody"}) == []
    assert _identities(door, "/echo/moved/nobody2", {"Cookie": "sessionid=nobody"}) == []
    assert _resolved(door) == before + 4, "an anonymous session is remembered"


def test_a_listed_token_scheme_is_resolved_and_an_unlisted_one_is_not(door: FrontDoor) -> None:
    _moved(door)
    key = load_or_create_secret(door.home / "secrets" / "identity.key")
    before = _resolved(door)
    [by_token] = _identities(door, "/echo/moved/t", {"Authorization": "Token demo-api-token"})
    assert verify_identity(key, by_token, time.time())["sub"] == "7"
    assert _identities(door, "/echo/moved/t2", {"Authorization": "Token demo-api-token"}) == [by_token]
    assert _resolved(door) == before + 1, "cached like basic auth"
    assert _identities(door, "/echo/moved/b", {"Authorization": "Bearer demo-api-token"}) == []
    assert _resolved(door) == before + 1, "an unlisted scheme is never sent to the monolith"
