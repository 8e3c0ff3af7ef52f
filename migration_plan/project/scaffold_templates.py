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

__all__ = ["ThingRepository", "list_things"]


class ThingRepository(Protocol):
    def list(self) -> list[Thing]: ...


def list_things(repository: ThingRepository) -> list[Thing]:
    return repository.list()
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

from sqlalchemy import Engine, select

from new_services.__NAME__.adapters.tables import things
from new_services.__NAME__.domain.model import Thing

__all__ = ["SqlThingRepository"]


class SqlThingRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(self) -> list[Thing]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(things.c.id, things.c.name).order_by(things.c.id))
            return [Thing(id=row.id, name=row.name) for row in rows]
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
    "bootstrap.py": '''"""The composition root: settings in, wired dependencies out. Nothing connects before it is called."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.adapters.repository import SqlThingRepository
from new_services.__NAME__.settings import __CLASS__Settings
from new_services.kit.engine import make_engine

__all__ = ["__CLASS__", "bootstrap"]


@dataclass(frozen=True)
class __CLASS__:
    """What the entrypoints need: the repository and the readiness check."""

    settings: __CLASS__Settings
    engine: Engine
    repository: SqlThingRepository

    def readiness(self) -> dict[str, str]:
        return MIGRATIONS.readiness(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(settings: __CLASS__Settings) -> __CLASS__:
    engine = make_engine(settings.database_url)
    return __CLASS__(settings=settings, engine=engine, repository=SqlThingRepository(engine))
''',
    "entrypoints/__init__.py": '''"""HTTP: the Flask app and its routes."""
''',
    "entrypoints/api.py": '''"""``GET __ROUTE__``: the route the service takes over from the monolith."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from new_services.__NAME__.service_layer.services import list_things

__all__ = ["blueprint"]

blueprint = Blueprint("__NAME___api", __name__)


@blueprint.get("__ROUTE__")
def things() -> ResponseReturnValue:
    wired = current_app.extensions["__NAME__"]
    return jsonify({"results": [thing.as_dict() for thing in list_things(wired.repository)]})
''',
    "entrypoints/app.py": '''"""The Flask application factory: ``create_app(settings)`` wires the routes into the kit's app."""

from __future__ import annotations

from flask import Flask

from new_services.__NAME__.bootstrap import __CLASS__, bootstrap
from new_services.__NAME__.entrypoints import api
from new_services.__NAME__.settings import __CLASS__Settings
from new_services.kit.web import answer_as_the_monolith, service_app

__all__ = ["create_app"]


def create_app(settings: __CLASS__Settings | None = None, *, wired: __CLASS__ | None = None) -> Flask:
    """The app; ``wired`` replaces the bootstrapped dependencies (tests pass their own)."""
    settings = settings or (wired.settings if wired is not None else __CLASS__Settings())
    app = service_app(__name__, settings, wired or bootstrap(settings))
    app.register_blueprint(api.blueprint)
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
    "tests/test___NAME___service.py": '''"""The scaffolded __NAME__ service: migrated, ready, answering its route from its own database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert

from new_services.__NAME__.adapters.migrate import MIGRATIONS
from new_services.__NAME__.adapters.tables import things
from new_services.__NAME__.bootstrap import bootstrap
from new_services.__NAME__.entrypoints.app import create_app
from new_services.__NAME__.settings import __CLASS__Settings

pytestmark = pytest.mark.unit


def test_the_route_answers_from_the_service_s_database(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = __CLASS__Settings(STRANGLER_HOME=str(tmp_path), __UPPER___DATABASE_URL=database)
    wired = bootstrap(settings)
    client = create_app(settings, wired=wired).test_client()
    try:
        assert client.get("/readyz").status_code == 503  # not migrated yet
        MIGRATIONS.upgrade_to_head(wired.engine)
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
        with wired.engine.begin() as connection:
            connection.execute(insert(things).values(name="first"))
        response = client.get("__ROUTE__")
        assert response.status_code == 200
        assert response.get_json() == {"results": [{"id": 1, "name": "first"}]}
    finally:
        wired.dispose()
''',
}
