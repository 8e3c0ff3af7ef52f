"""The tests of a new service: its own, and the contract it shares with the monolith (see
:mod:`.scaffold_templates`)."""

# Each template is one string keyed by its path (long lines here); what it renders is linted when tested.
# ruff: noqa: E501

from __future__ import annotations

__all__ = ["TEST_FILES"]

TEST_FILES: dict[str, str] = {
    "tests/__init__.py": "",
    "tests/test___NAME___service.py": '''"""The scaffolded __NAME__ service: migrated, ready, answering its route from its own database, and
recording each write for the monolith in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from acl.identity_verifier import IDENTITY_HEADER, CustomerIdentity
from acl.sync.core.tables import service_outbox
from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.adapters.tables import things
from new_services.__NAME__.anticorruption.translator import thing_to_legacy
from new_services.__NAME__.bootstrap import __CLASS__, bootstrap
from new_services.__NAME__.domain.model import Thing
from new_services.__NAME__.entrypoints.app import create_app
from new_services.__NAME__.settings import __CLASS__Settings

pytestmark = pytest.mark.unit


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[__CLASS__]:
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = __CLASS__Settings(STRANGLER_HOME=str(tmp_path), __UPPER___DATABASE_URL=database)
    wired = bootstrap(settings)
    yield wired
    wired.dispose()


@pytest.fixture
def client(wired: __CLASS__) -> FlaskClient:
    return create_app(wired.settings, wired=wired).test_client()


def test_the_route_answers_from_the_service_s_database(wired: __CLASS__, client: FlaskClient) -> None:
    assert client.get("/readyz").status_code == 503  # not migrated yet
    MIGRATIONS.upgrade_to_head(wired.engine)
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").status_code == 200
    with wired.engine.begin() as connection:
        connection.execute(insert(things).values(name="first"))
    response = client.get("__ROUTE__")
    assert response.status_code == 200
    assert response.get_json() == {"results": [{"id": 1, "name": "first"}]}


def test_a_write_needs_an_identity_and_is_recorded_for_the_monolith(
    wired: __CLASS__, client: FlaskClient
) -> None:
    MIGRATIONS.upgrade_to_head(wired.engine)
    assert client.post("__ROUTE__", json={"name": "second"}).status_code == 401
    forged = {IDENTITY_HEADER: "not-signed"}
    assert client.post("__ROUTE__", json={"name": "second"}, headers=forged).status_code == 401
    signed = {IDENTITY_HEADER: wired.identity.sign(CustomerIdentity(1, "alice", "Alice"))}
    assert client.post("__ROUTE__", json={}, headers=signed).status_code == 400

    response = client.post("__ROUTE__", json={"name": "second"}, headers=signed)
    assert response.status_code == 201
    assert response.get_json() == {"id": 1, "name": "second"}
    with wired.engine.connect() as connection:
        events = connection.execute(select(service_outbox)).all()
    assert [(e.aggregate_type, e.aggregate_id, e.event_type, e.origin) for e in events] == [
        ("__NAME__", "1", "__NAME__.created", "__NAME__")
    ]
    assert events[0].payload == thing_to_legacy(Thing(1, "second"))
''',
    "tests/test___NAME___contract.py": '''"""The contract of __ROUTE__: the same cases against the service and the monolith.

The monolith's cases run when ``__UPPER___LEGACY_URL`` names it (``http://127.0.0.1:8000``); its
answers go through the service's anti-corruption layer, so the cases hold for the translated view.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx2
import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert

from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.adapters.tables import things
from new_services.__NAME__.anticorruption.translator import things_from_legacy_page
from new_services.__NAME__.bootstrap import bootstrap
from new_services.__NAME__.entrypoints.app import create_app
from new_services.__NAME__.settings import __CLASS__Settings

pytestmark = pytest.mark.unit


class Target(Protocol):
    """Who answers the cases: status and JSON body (None when the body is not JSON)."""

    def get(self, path: str) -> tuple[int, Any]: ...

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]: ...


class ServiceTarget:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def get(self, path: str) -> tuple[int, Any]:
        response = self._client.get(path)
        return response.status_code, response.get_json(silent=True)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = self._client.post(path, json=body)
        return response.status_code, response.get_json(silent=True)


class MonolithTarget:
    def __init__(self, http: httpx2.Client) -> None:
        self._http = http

    def get(self, path: str) -> tuple[int, Any]:
        return self._answer(self._http.get(path, headers={"Accept": "application/json"}))

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        return self._answer(self._http.post(path, json=body, headers={"Accept": "application/json"}))

    @staticmethod
    def _answer(response: httpx2.Response) -> tuple[int, Any]:
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None


@pytest.fixture(params=["service", "monolith"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "monolith":
        url = os.environ.get("__UPPER___LEGACY_URL")
        if not url:
            pytest.skip("__UPPER___LEGACY_URL is not set (the monolith's address)")
        with httpx2.Client(base_url=url, timeout=httpx2.Timeout(5.0, connect=2.0)) as http:
            yield MonolithTarget(http)
        return
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = __CLASS__Settings(STRANGLER_HOME=str(tmp_path), __UPPER___DATABASE_URL=database)
    wired = bootstrap(settings)
    MIGRATIONS.upgrade_to_head(wired.engine)
    with wired.engine.begin() as connection:
        connection.execute(insert(things).values(name="first"))
    yield ServiceTarget(create_app(settings, wired=wired).test_client())
    wired.dispose()


def test_the_list_is_json_that_translates_into_things(target: Target) -> None:
    status, body = target.get("__ROUTE__")
    assert status == 200
    listed = things_from_legacy_page(body)
    assert len({thing.id for thing in listed}) == len(listed)


def test_an_anonymous_write_is_refused(target: Target) -> None:
    status, _ = target.post("__ROUTE__", {"name": "anonymous"})
    assert status in (401, 403)
''',
}
