"""The Alembic migrations create every table of schema.py, run twice harmlessly, and keep the audit log
append-only in the database itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import DBAPIError

from strangler_proxy.store.engine import make_engine
from strangler_proxy.store.migrate import current_revision, head_revision, upgrade_to_head
from strangler_proxy.store.schema import audit_log, metadata

pytestmark = pytest.mark.unit


def _migrated(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    assert current_revision(engine) is None
    assert upgrade_to_head(engine) == head_revision()
    return engine


def _check_tables_and_append_only(engine) -> None:  # type: ignore[no-untyped-def]
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    for name, table in metadata.tables.items():
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert columns == {c.name for c in table.columns}, name
    upgrade_to_head(engine)  # a second run is a no-op
    assert current_revision(engine) == head_revision()
    with engine.begin() as conn:
        conn.execute(insert(audit_log).values(at=datetime.now(UTC), actor="t", action="a", outcome="ok"))
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["t"]


def test_sqlite_store_is_migrated_to_every_table(tmp_path: Path) -> None:
    engine = _migrated(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    _check_tables_and_append_only(engine)
    engine.dispose()


@pytest.mark.postgres
def test_postgres_store_is_migrated_to_every_table(postgres_url: str) -> None:
    engine = _migrated(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    _check_tables_and_append_only(engine)
    engine.dispose()


def test_tokens_issued_before_expiry_existed_get_one_and_keep_their_users_role(tmp_path: Path) -> None:
    """Revision 0002 is additive: a store at 0001 keeps its users and tokens; old tokens now expire."""
    from alembic import command

    from strangler_proxy.store.migrate import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, disabled, created_at) "
                "VALUES (1, 'old', 'x', 'operator', 0, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (1, 'ci', 'h', :now)"
            ),
            {"now": now},
        )
    upgrade_to_head(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT scope, expires_at, generation FROM api_tokens")).one()
        generation = conn.execute(text("SELECT generation FROM users")).scalar_one()
    assert row.scope == "admin" and row.generation == 0 and generation == 0
    assert row.expires_at is not None and str(row.expires_at) > str(now)
    engine.dispose()
