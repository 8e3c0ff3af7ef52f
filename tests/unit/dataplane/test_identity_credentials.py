"""Which credential a front door resolves into the identity: an Authorization of a listed scheme (case
does not matter), else the session cookie; the list is checked where it is configured."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from strangler_proxy.credentials import auth_schemes
from strangler_proxy.dataplane.identity_resolver import request_credential
from strangler_proxy.dataplane.settings import DataPlaneSettings
from strangler_proxy.engines.haproxy.settings import EngineSettings

pytestmark = pytest.mark.unit

COOKIE = [(b"cookie", b"a=1; sessionid=s1")]


def test_a_listed_scheme_wins_over_the_cookie_and_an_unlisted_one_does_not() -> None:
    schemes = (b"basic ", b"token ")
    assert request_credential([(b"authorization", b"TOKEN t1"), *COOKIE], b"sessionid", schemes) == (
        "x-legacy-authorization",
        "TOKEN t1",
    )
    assert request_credential([(b"authorization", b"Bearer t1"), *COOKIE], b"sessionid", schemes) == (
        "x-legacy-session",
        "s1",
    )
    assert request_credential([(b"authorization", b"Token t1")], b"sessionid") is None, "default: Basic"


def test_the_schemes_are_a_comma_list_of_plain_names_in_both_front_doors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert auth_schemes("Basic,Token,basic") == ("basic", "token")
    for settings in (DataPlaneSettings, EngineSettings):
        monkeypatch.setenv("STRANGLER_IDENTITY_AUTH_SCHEMES", "Basic,Token")
        assert settings().identity_auth_schemes == "Basic,Token"  # type: ignore[call-arg]
        monkeypatch.setenv("STRANGLER_IDENTITY_AUTH_SCHEMES", 'Basic }, "x')
        with pytest.raises(ValidationError):
            settings()  # type: ignore[call-arg]
