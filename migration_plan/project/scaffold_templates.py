"""The files of a new service; see ``scaffold_service`` for the markers. Here its package, settings,
domain, service layer, adapters and anti-corruption layer; its composition root and HTTP entry points
are in :mod:`.scaffold_web_templates`, its tests in :mod:`.scaffold_test_templates`."""

# Each template is one string keyed by its path (long lines here); what it renders is linted when tested.
# ruff: noqa: E501

from __future__ import annotations

from migration_plan.project.scaffold_test_templates import TEST_FILES
from migration_plan.project.scaffold_web_templates import WEB_FILES

__all__ = ["FILES"]

_CORE_FILES: dict[str, str] = {
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

from acl.sync.service.outbox import record_service_event
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

The table is ``acl.sync.core.tables.service_outbox``, created as the relay creates it (only when missing).

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-01
"""

from __future__ import annotations

from alembic import op

from acl.sync.core.tables import service_outbox
from acl.sync.service.outbox import create_service_outbox

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
}

FILES: dict[str, str] = {**_CORE_FILES, **WEB_FILES, **TEST_FILES}
"""Every file of a new service, by its path in the service's package."""
