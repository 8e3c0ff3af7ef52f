"""Rollback, re-activation and panic are use cases of the service layer: the JSON API and the admin UI
reach the same one with the same arguments (only the actor differs), and no handler orchestrates the
drain itself. Each use case is spied on where it lives (the publishing service), then runs for real."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from strangler_proxy.routes import ActionMode
from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit

PASSWORD = "a long enough password"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


class Calls:
    """Every call of the spied use cases: (use case, keyword arguments but the actor, actor's name)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = []

    def spy(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            actor = kwargs.pop("actor")
            self.seen.append((name, args, dict(kwargs), actor.name))
            return original(*args, actor=actor, **kwargs)

        return call


@pytest.fixture
def calls(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    spied = Calls()
    publishing = api.services.publishing
    for name in ("rollback", "rollback_all", "reactivate", "panic"):
        monkeypatch.setattr(publishing, name, spied.spy(name, getattr(publishing, name)))
    yield spied


def _sign_in(api: Api) -> str:
    """The operator's session in the UI (the same user the API's operator token belongs to)."""
    response = api.client.post(
        "/login", data={"username": "operator-user", "password": PASSWORD, "next": "/"}
    )
    assert response.status_code == 200, response.text
    match = CSRF_META.search(response.text)
    assert match and match.group(1)
    return match.group(1)


def _on_new(api: Api) -> int:
    registered = api.client.put(
        "/api/v1/upstreams/catalog", json={"url": "http://127.0.0.1:8201"}, headers=api.headers("admin")
    )
    assert registered.status_code in (200, 201), registered.text
    rule = {"name": "catalog", "match": {"kind": "prefix", "path": "/catalog"}}
    assert api.post("/routes", {"rule": rule, "reason": "add"}).status_code == 201
    flipped = api.post("/routes/catalog/flip", {"mode": "new", "upstream": "catalog", "reason": "go"})
    assert flipped.status_code == 200, flipped.text
    return int(flipped.json()["version"])


def _version(api: Api) -> int:
    return int(api.get("/versions/active").json()["pointer"]["version"])


def test_rolling_a_route_back_is_one_use_case_for_the_api_and_the_ui(api: Api, calls: Calls) -> None:
    csrf = _sign_in(api)
    version = _on_new(api)
    body = {"to": "legacy", "reason": "errors", "expected_version": version, "drain_timeout_s": 3}
    assert api.post("/routes/catalog/rollback", body).status_code == 200
    flipped = api.post("/routes/catalog/flip", {"mode": "new", "upstream": "catalog", "reason": "again"})
    version = flipped.json()["version"]
    form = {"csrf_token": csrf, "to": "legacy", "reason": "errors", "drain_timeout_s": "3"}
    ui = api.client.post("/ui/routes/catalog/rollback", data={**form, "expected_version": str(version)})
    assert ui.status_code == 200, ui.text
    assert api.services.publishing.active_table().rule("catalog").action.mode is ActionMode.LEGACY
    [(_, _, from_api, api_actor), (_, _, from_ui, ui_actor)] = [c for c in calls.seen if c[0] == "rollback"]
    assert from_api.pop("expected_version") != from_ui.pop("expected_version")  # one version later
    assert (
        from_api
        == from_ui
        == {
            "reason": "errors",
            "route": "catalog",
            "to": "legacy",
            "force": False,
            "wait_s": 3.0,
        }
    )
    assert api_actor == ui_actor == "operator-user"


def test_reactivating_a_version_is_one_use_case_for_the_api_and_the_ui(api: Api, calls: Calls) -> None:
    csrf = _sign_in(api)
    on_new = _on_new(api)
    assert api.post("/routes/catalog/flip", {"mode": "legacy", "reason": "back"}).status_code == 200
    body = {"reason": "fixed", "expected_version": _version(api)}
    assert api.post(f"/versions/{on_new}/activate", body).status_code == 200
    assert api.post("/routes/catalog/flip", {"mode": "legacy", "reason": "back"}).status_code == 200
    form = {"csrf_token": csrf, "reason": "fixed", "expected_version": str(_version(api))}
    assert api.client.post(f"/ui/versions/{on_new}/reactivate", data=form).status_code == 200
    assert _version(api) == on_new
    reactivations = [c for c in calls.seen if c[0] == "reactivate"]
    assert [(args, kwargs["reason"], kwargs["force"]) for _, args, kwargs, _ in reactivations] == [
        ((on_new,), "fixed", False)
    ] * 2


def test_the_whole_table_rollback_and_panic_are_use_cases_too(api: Api, calls: Calls) -> None:
    csrf = _sign_in(api)
    version = _on_new(api)
    assert api.post("/rollback", {"reason": "undo", "expected_version": version}).status_code == 200
    assert [c[0] for c in calls.seen] == ["rollback_all", "reactivate"]  # a pointer swap to the previous
    assert api.post("/panic", {"reason": "fire"}).status_code == 200
    assert api.client.post("/ui/panic", data={"csrf_token": csrf, "reason": "fire"}).status_code == 200
    panics = [(kwargs, actor) for name, _, kwargs, actor in calls.seen if name == "panic"]
    assert panics == [({"reason": "fire"}, "operator-user")] * 2
