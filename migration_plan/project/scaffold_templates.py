"""The files of a new service; see ``scaffold_service`` for the markers."""

# Each template is one string keyed by its path (long lines here); what it renders is linted when tested.
# ruff: noqa: E501

from __future__ import annotations

__all__ = ["FILES"]

FILES: dict[str, str] = {
    "__init__.py": '''"""The __NAME__ service (scaffolded by `strangler new-service`)."""
''',
    "__main__.py": '''"""``python -m new_services.__NAME__ migrate``: bring the __NAME__ database to the newest schema."""

from __future__ import annotations

import sys

from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.settings import __CLASS__Settings
from new_services.kit.migrations import migrate_command, service_commands

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser, _ = service_commands("__NAME__")
    parser.parse_args(argv)
    return migrate_command(__CLASS__Settings(), MIGRATIONS)


if __name__ == "__main__":
    sys.exit(main())
''',
    "settings.py": '''"""Settings of the __NAME__ service, read once from the environment into a frozen object."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from new_services.kit.settings import ServiceSettings

__all__ = ["__CLASS__Settings"]


class __CLASS__Settings(ServiceSettings):
    """``__UPPER___DATABASE_URL`` wins; else SQLite under ``$STRANGLER_HOME/services/__NAME__``."""

    model_config = SettingsConfigDict(env_prefix="__UPPER___")
    service: ClassVar[str] = "__NAME__"

    database_url_override: str | None = Field(None, validation_alias="__UPPER___DATABASE_URL")
    port: int = Field(__PORT__, ge=1, le=65535)
''',
    "gunicorn.conf.py": '''"""gunicorn settings for the __NAME__ service, on 127.0.0.1:$__UPPER___PORT (see the kit's)."""

from new_services.kit.gunicorn_config import server_settings

globals().update(server_settings("__NAME__", default_port=__PORT__))
''',
    "domain/__init__.py": '''"""The __NAME__ domain: plain Python, no framework, no database."""
''',
    "domain/model.py": '''"""What the service is about; replace ``Thing`` with the domain's own concepts."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Thing"]


@dataclass(frozen=True)
class Thing:
    id: int
    name: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name}
''',
    "service_layer/__init__.py": '''"""Use cases of the __NAME__ service, over the repository port."""
''',
    "service_layer/services.py": '''"""The use cases: each takes the repository it works on."""

from __future__ import annotations

from typing import Protocol

from new_services.__NAME__.domain.model import Thing

__all__ = ["ThingRepository", "add_thing", "list_things"]


class ThingRepository(Protocol):
    def list(self) -> list[Thing]: ...

    def add(self, name: str, *, dry_run: bool = False) -> Thing: ...


def list_things(repository: ThingRepository) -> list[Thing]:
    return repository.list()


def add_thing(repository: ThingRepository, name: str, *, dry_run: bool = False) -> Thing:
    """A new thing; the repository records it for the monolith in the same transaction (rolled back
    with ``dry_run``: a shadowed write, compared but never kept)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("name must be 1 to 100 characters")
    return repository.add(name, dry_run=dry_run)
''',
    "adapters/__init__.py": '''"""The __NAME__ service's database: tables, migrations, repository."""
''',
    "adapters/tables.py": '''"""The service's own tables (prefixed with its name, so that services can share a database)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

__all__ = ["metadata", "things"]

metadata = MetaData()

things = Table(
    "__NAME___thing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
)
''',
    "adapters/repository.py": '''"""The repository over SQLAlchemy Core."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from acl.sync.reverse import record_service_event
from new_services.__NAME__.adapters.tables import things
from new_services.__NAME__.anticorruption.translator import thing_to_legacy
from new_services.__NAME__.domain.model import Thing

__all__ = ["SqlThingRepository"]


class SqlThingRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(self) -> list[Thing]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(things.c.id, things.c.name).order_by(things.c.id))
            return [Thing(id=row.id, name=row.name) for row in rows]

    def add(self, name: str, *, dry_run: bool = False) -> Thing:
        """The row and its ``service_outbox`` event (in the monolith's vocabulary) in one transaction:
        the reverse relay (``python -m acl.sync reverse``) takes the event to the monolith. With
        ``dry_run`` the transaction is rolled back."""
        with self._engine.connect() as connection, connection.begin() as transaction:
            added = connection.execute(insert(things).values(name=name).returning(things.c.id))
            new_id: int = added.scalar_one()
            thing = Thing(id=int(new_id), name=name)
            record_service_event(
                connection,
                aggregate_type="__NAME__",
                aggregate_id=thing.id,
                event_type="__NAME__.created",
                payload=thing_to_legacy(thing),
                origin="__NAME__",
            )
            if dry_run:
                transaction.rollback()
        return thing
''',
    "adapters/migrate.py": '''"""The service's Alembic migrations (``migrations/``), recorded in a version table of its own."""

from __future__ import annotations

from pathlib import Path

from new_services.kit.migrations import AlembicMigrations

__all__ = ["MIGRATIONS"]

MIGRATIONS = AlembicMigrations(Path(__file__).with_name("migrations"), "__NAME___alembic_version")
''',
    "adapters/migrations/__init__.py": "",
    "adapters/migrations/env.py": '''"""Alembic environment: the connection comes from ``config.attributes`` (see adapters.migrate)."""

from __future__ import annotations

from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.adapters.tables import metadata

MIGRATIONS.run_environment(metadata)
''',
    "adapters/migrations/versions/0001___NAME___initial.py": '''"""__NAME__: the first table

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "__NAME___thing",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("__NAME___thing")
''',
    "adapters/migrations/versions/0002___NAME___service_outbox.py": '''"""__NAME__: service_outbox, the changes waiting for the reverse relay

The table is ``acl.sync.tables.service_outbox``, created as the relay creates it (only when missing).

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-01
"""

from __future__ import annotations

from alembic import op

from acl.sync.reverse import create_service_outbox
from acl.sync.tables import service_outbox

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_service_outbox(op.get_bind())


def downgrade() -> None:
    service_outbox.drop(op.get_bind(), checkfirst=True)
''',
    "anticorruption/__init__.py": '''"""The __NAME__ service's anti-corruption layer: the monolith's vocabulary stays here."""
''',
    "anticorruption/translator.py": '''"""Translate between the monolith's representation of a thing and the service's ``Thing``.

``LEGACY_FIELDS`` maps the service's field to the monolith's name for it; edit it to the monolith's
columns or serializer fields. Nothing outside this package spells a legacy name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acl.errors import LegacyDataError
from new_services.__NAME__.domain.model import Thing

__all__ = ["LEGACY_FIELDS", "thing_from_legacy", "thing_to_legacy", "things_from_legacy_page"]

LEGACY_FIELDS = {"id": "id", "name": "name"}


def thing_from_legacy(row: Mapping[str, Any]) -> Thing:
    """The monolith's JSON object (or row) as a ``Thing``; ``LegacyDataError`` names a bad field."""
    legacy_id, legacy_name = row.get(LEGACY_FIELDS["id"]), row.get(LEGACY_FIELDS["name"])
    if not isinstance(legacy_id, int) or isinstance(legacy_id, bool) or legacy_id < 1:
        raise LegacyDataError(LEGACY_FIELDS["id"], legacy_id, "must be a positive integer")
    if not isinstance(legacy_name, str):
        raise LegacyDataError(LEGACY_FIELDS["name"], legacy_name, "must be text")
    return Thing(id=legacy_id, name=legacy_name)


def thing_to_legacy(thing: Thing) -> dict[str, Any]:
    """The payload the monolith's applier receives (``/internal/sync/apply``)."""
    return {LEGACY_FIELDS["id"]: thing.id, LEGACY_FIELDS["name"]: thing.name}


def things_from_legacy_page(body: Any) -> list[Thing]:
    """A list answer: a JSON array, or a paginated object with ``results`` (Django REST Framework)."""
    items = body.get("results") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise LegacyDataError("results", type(body).__name__, "must be a list of objects")
    return [thing_from_legacy(item) for item in items]
''',
    "anticorruption/legacy_client.py": '''"""A client of the monolith's __ROUTE__, answering in the service's ``Thing`` (a stub to grow).

Every call has a timeout; a GET is retried once on no answer; a write is never retried (the first
attempt may have been applied). Failures surface as ``acl.errors`` exceptions.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx2

from acl.errors import LegacyConnectionError, LegacyResponseError, LegacyTimeout
from new_services.__NAME__.anticorruption.translator import things_from_legacy_page
from new_services.__NAME__.domain.model import Thing

__all__ = ["LegacyThingClient"]

ROUTE = "__ROUTE__"


class LegacyThingClient:
    """``with LegacyThingClient("http://127.0.0.1:8000") as legacy: legacy.list_things()``."""

    def __init__(self, base_url: str, *, transport: httpx2.BaseTransport | None = None) -> None:
        self._http = httpx2.Client(
            base_url=base_url, timeout=httpx2.Timeout(5.0, connect=2.0), transport=transport
        )

    def list_things(self) -> list[Thing]:
        return things_from_legacy_page(self._get(ROUTE).json())

    def _get(self, path: str) -> httpx2.Response:
        for attempt in (1, 2):
            try:
                response = self._http.get(path, headers={"Accept": "application/json"})
            except httpx2.TimeoutException as exc:
                if attempt == 2:
                    raise LegacyTimeout(str(exc), method="GET", url=path) from exc
                continue
            except httpx2.TransportError as exc:
                if attempt == 2:
                    raise LegacyConnectionError(str(exc), method="GET", url=path) from exc
                continue
            if response.status_code != 200:
                status = response.status_code
                raise LegacyResponseError(f"GET {path}: {status}", status_code=status, method="GET", url=path)
            return response
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
''',
    "bootstrap.py": '''"""The composition root: settings in, wired dependencies out. Nothing connects before it is called."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from acl.identity import IdentityVerifier, load_identity_key
from acl.sync.service_apply import ForwardInbox
from new_services.__NAME__.adapters.appliers import APPLIERS
from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.adapters.repository import SqlThingRepository
from new_services.__NAME__.settings import __CLASS__Settings
from new_services.kit.engine import make_engine

__all__ = ["__CLASS__", "bootstrap"]


@dataclass(frozen=True)
class __CLASS__:
    """What the entrypoints need: the repository, the readiness check, the identity verifier
    (``X-Strangler-Identity``, signed by the proxy from the monolith's session) and the inbox of forward
    sync (the monolith's events, applied by ``adapters.appliers``)."""

    settings: __CLASS__Settings
    engine: Engine
    repository: SqlThingRepository
    identity: IdentityVerifier
    forward: ForwardInbox

    def readiness(self) -> dict[str, str]:
        return MIGRATIONS.readiness(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(settings: __CLASS__Settings) -> __CLASS__:
    engine = make_engine(settings.database_url)
    return __CLASS__(
        settings=settings,
        engine=engine,
        repository=SqlThingRepository(engine),
        identity=IdentityVerifier(load_identity_key(settings.strangler_home)),
        forward=ForwardInbox(engine, APPLIERS),
    )
''',
    "entrypoints/__init__.py": '''"""HTTP: the Flask app and its routes."""
''',
    "entrypoints/auth.py": '''"""Who sends a request: only a valid signed ``X-Strangler-Identity`` header (set by the proxy)."""

from __future__ import annotations

import structlog
from flask import current_app, request

from acl.identity import CustomerIdentity, IdentityError

__all__ = ["current_identity"]

log = structlog.get_logger("__NAME__.auth")


def current_identity() -> CustomerIdentity | None:
    """The verified identity, or None (no header, or one that cannot be trusted: logged)."""
    wired = current_app.extensions["__NAME__"]
    try:
        identity: CustomerIdentity | None = wired.identity.identify(request.headers)
    except IdentityError as exc:
        log.warning("identity refused", reason=str(exc), kind=type(exc).__name__)
        return None
    return identity
''',
    "entrypoints/api.py": '''"""``GET`` and ``POST __ROUTE__``: the route the service takes over from the monolith."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from new_services.__NAME__.entrypoints.auth import current_identity
from new_services.__NAME__.service_layer.services import add_thing, list_things
from new_services.kit.responses import error_response

__all__ = ["blueprint"]

blueprint = Blueprint("__NAME___api", __name__)

SHADOW_HEADER = "X-Strangler-Shadow"
"""Set by the proxy on a shadowed request: the write runs and is rolled back (the monolith answers)."""


@blueprint.get("__ROUTE__")
def things() -> ResponseReturnValue:
    wired = current_app.extensions["__NAME__"]
    return jsonify({"results": [thing.as_dict() for thing in list_things(wired.repository)]})


@blueprint.post("__ROUTE__")
def create_thing() -> ResponseReturnValue:
    """201 with the new thing; 401 without a verified identity; 400 without a valid ``name``; nothing kept
    when shadowed."""
    if current_identity() is None:
        return error_response(401, "not_authenticated", "Authentication required: log in.")
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        return error_response(400, "invalid", "The body is a JSON object with a text 'name'.")
    try:
        dry_run = request.headers.get(SHADOW_HEADER) == "1"
        thing = add_thing(current_app.extensions["__NAME__"].repository, name, dry_run=dry_run)
    except ValueError as exc:
        return error_response(400, "invalid", str(exc))
    return jsonify(thing.as_dict()), 201
''',
    "entrypoints/app.py": '''"""The Flask application factory: ``create_app(settings)`` wires the routes into the kit's app."""

from __future__ import annotations

from flask import Flask

from new_services.__NAME__.bootstrap import __CLASS__, bootstrap
from new_services.__NAME__.entrypoints import api
from new_services.__NAME__.settings import __CLASS__Settings
from new_services.kit.forward_endpoint import forward_sync_blueprint
from new_services.kit.web import answer_as_the_monolith, service_app

__all__ = ["create_app"]


def create_app(settings: __CLASS__Settings | None = None, *, wired: __CLASS__ | None = None) -> Flask:
    """The app; ``wired`` replaces the bootstrapped dependencies (tests pass their own). Its routes, and
    ``POST /internal/sync/apply`` for the toolkit's forward consumer (internal token only)."""
    settings = settings or (wired.settings if wired is not None else __CLASS__Settings())
    wired = wired or bootstrap(settings)
    app = service_app(__name__, settings, wired)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(forward_sync_blueprint(wired.forward.apply, token=settings.internal_token))
    answer_as_the_monolith(app, ())
    return app
''',
    "entrypoints/wsgi.py": '''"""The app gunicorn serves (``new_services.__NAME__.entrypoints.wsgi:app``), built on first access."""

from __future__ import annotations

from new_services.__NAME__.entrypoints.app import create_app
from new_services.kit.wsgi import lazy_app

__all__ = ["app"]  # noqa: F822 - provided by __getattr__

__getattr__ = lazy_app(__name__, create_app)
''',
    "tests/__init__.py": "",
    "tests/test___NAME___service.py": '''"""The scaffolded __NAME__ service: migrated, ready, answering its route from its own database, and
recording each write for the monolith in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from acl.identity import IDENTITY_HEADER, CustomerIdentity
from acl.sync.tables import service_outbox
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
