"""Engines for the databases sync touches: SQLite files (WAL, busy timeout) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url

__all__ = ["is_postgres", "make_engine", "normalise_url", "read_only_engine"]


def normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """An engine for ``url``; ``immediate`` makes every SQLite transaction ``BEGIN IMMEDIATE``.

    Immediate transactions take the write lock up front (waiting up to the busy timeout), so a
    read-then-write transaction can never fail half-way with SQLITE_BUSY_SNAPSHOT under WAL.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        if immediate:
            event.listen(engine, "connect", _manual_transactions)
            event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _manual_transactions(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # pysqlite leaves BEGIN to us


def _begin_immediate(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite opened with ``mode=ro``, PostgreSQL in read-only transactions."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("the legacy SQLite database must be a file")
        path = Path(parsed.database).resolve()
        if not path.exists():
            raise FileNotFoundError(f"no legacy database at {path}")
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return create_engine(parsed, pool_pre_ping=True, execution_options={"postgresql_readonly": True})
