"""Running one service's Alembic migrations without an alembic.ini, on a version table of its own.

Each service keeps its migrations and names its version table (so several services can share one
PostgreSQL database); this module is the one runner they all use. It holds no service's code, so the
services stay independent of each other.
"""

from __future__ import annotations

import argparse
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, text

from new_services.kit.engine import make_engine
from new_services.kit.settings import ServiceSettings

__all__ = ["AlembicMigrations", "migrate_command", "service_commands"]


class AlembicMigrations:
    """The migrations in ``migrations_dir``, recorded in ``version_table``."""

    def __init__(self, migrations_dir: Path, version_table: str) -> None:
        self.migrations_dir = migrations_dir
        self.version_table = version_table

    def _config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.migrations_dir))
        return config

    def upgrade_to_head(self, engine: Engine) -> str:
        """Bring the database at ``engine`` up to the newest revision; return that revision."""
        config = self._config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        return self.head_revision()

    def migrate(self, database_url: str) -> str:
        """:meth:`upgrade_to_head` on an engine of its own for ``database_url``, disposed afterwards."""
        engine = make_engine(database_url)
        try:
            return self.upgrade_to_head(engine)
        finally:
            engine.dispose()

    def head_revision(self) -> str:
        """The newest revision in ``migrations_dir`` (read once)."""
        return self._head

    @cached_property
    def _head(self) -> str:
        head = ScriptDirectory.from_config(self._config()).get_current_head()
        if head is None:
            raise RuntimeError(f"no migrations found in {self.migrations_dir}")
        return head

    def current_revision(self, engine: Engine) -> str | None:
        """The revision the database is at, or None when it was never migrated."""
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
            return context.get_current_revision()

    def readiness(self, engine: Engine) -> dict[str, str]:
        """``{"database": "ok"}`` when reachable and migrated; raises with the reason otherwise."""
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = self.current_revision(engine), self.head_revision()
        if current != head:
            raise RuntimeError(f"database at migration {current!r}, expected {head!r}")
        return {"database": "ok"}

    def run_environment(self, metadata: MetaData) -> None:
        """The whole of a service's ``migrations/env.py``: migrate on the connection that
        :meth:`upgrade_to_head` hands over, to ``metadata``, recording in the service's version table."""
        connection = context.config.attributes.get("connection")
        if connection is None:
            raise RuntimeError(f"run the migrations in {self.migrations_dir} through upgrade_to_head(engine)")
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            version_table=self.version_table,
        )
        with context.begin_transaction():
            context.run_migrations()


def service_commands(service: str) -> tuple[argparse.ArgumentParser, Any]:
    """``python -m new_services.<service>``'s parser and its subcommands, ``migrate`` among them (run
    it with :func:`migrate_command`); the service adds its own."""
    parser = argparse.ArgumentParser(prog=f"python -m new_services.{service}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help=f"upgrade the {service} database to the newest revision")
    return parser, commands


def migrate_command(settings: ServiceSettings, migrations: AlembicMigrations) -> int:
    """``python -m new_services.<service> migrate``: bring the database up to date and say where it is."""
    print(f"{settings.service} database at revision {migrations.migrate(settings.database_url)}")
    return 0
