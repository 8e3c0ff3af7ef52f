"""Auth service: argon2 password hashes, tokens stored as hashes only, sessions that expire and die with
the account, CSRF tokens bound to the session, ordered roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from strangler_proxy.controlplane.errors import BadRequest, Conflict, Forbidden
from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.auth import AuthService, Role
from strangler_proxy.controlplane.service_layer.sessions import SessionService
from strangler_proxy.controlplane.service_layer.tokens import TokenService
from strangler_proxy.store.schema import api_tokens, users

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"


def test_passwords_are_argon2_hashes(services: ControlPlaneServices) -> None:
    user = services.auth.create_user("ann", PASSWORD, Role.OPERATOR)
    with services.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.id == user.id)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert services.auth.check_password("ann", PASSWORD) == user
    assert services.auth.check_password("ann", PASSWORD + "!") is None
    assert services.auth.check_password("nobody", PASSWORD) is None
    with pytest.raises(Conflict):
        services.auth.create_user("ann", PASSWORD, Role.VIEWER)
    with pytest.raises(BadRequest, match="12 to 1024 characters"):
        services.auth.create_user("short", "tiny", Role.VIEWER)


def test_tokens_are_stored_hashed_and_die_with_the_account(services: ControlPlaneServices) -> None:
    user = services.auth.create_user("ben", PASSWORD, Role.VIEWER)
    token = services.tokens.issue(user, "ci").token
    with services.engine.connect() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1
    principal = services.tokens.principal(token)
    assert principal is not None and (principal.username, principal.role, principal.via) == (
        "ben",
        Role.VIEWER,
        "token",
    )
    services.auth.update_user("ben", disabled=True)
    assert services.tokens.principal(token) is None
    assert services.auth.check_password("ben", PASSWORD) is None


def test_sessions_carry_a_csrf_token_and_expire(services: ControlPlaneServices) -> None:
    user = services.auth.create_user("cat", PASSWORD, Role.ADMIN)
    now = [datetime.now(UTC)]
    sessions = SessionService(services.engine, session_key="k" * 32, max_age_s=60, clock=lambda: now[0])
    first, second = sessions.open(user), sessions.open(user)
    one, two = sessions.principal(first), sessions.principal(second)
    assert one is not None and two is not None and one.csrf_token != two.csrf_token
    assert sessions.csrf_matches(one, one.csrf_token) and not sessions.csrf_matches(one, two.csrf_token)
    assert not sessions.csrf_matches(one, None)
    now[0] += timedelta(seconds=61)
    assert sessions.principal(first) is None
    assert sessions.prune() == 2


def test_tokens_expire_and_act_within_their_scope(services: ControlPlaneServices) -> None:
    user = services.auth.create_user("dee", PASSWORD, Role.OPERATOR)
    now = [datetime.now(UTC)]
    tokens = TokenService(services.engine, clock=lambda: now[0])
    narrow = tokens.issue(user, "read-only", scope=Role.VIEWER, ttl_s=3600)
    assert narrow.record.scope == "viewer"
    assert tokens.principal(narrow.token).role is Role.VIEWER  # type: ignore[union-attr]
    with pytest.raises(Forbidden):
        tokens.issue(user, "too much", scope=Role.ADMIN)
    now[0] += timedelta(seconds=3601)
    assert tokens.principal(narrow.token) is None


def test_roles_are_ordered() -> None:
    assert Role.ADMIN > Role.OPERATOR > Role.VIEWER
    assert Role.parse("Operator") is Role.OPERATOR
    with pytest.raises(BadRequest):
        Role.parse("root")


def test_production_hasher_is_argon2id_at_full_cost(services: ControlPlaneServices) -> None:
    auth = AuthService(services.engine)
    assert auth.hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
