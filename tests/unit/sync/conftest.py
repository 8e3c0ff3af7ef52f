from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from acl.sync.bootstrap import create_sync_schema
from acl.sync.core.engines import make_engine


@pytest.fixture
def sync_db(tmp_path: Path) -> Engine:
    """A fresh sync database (SQLite file) with its tables."""
    engine = make_engine(f"sqlite:///{tmp_path / 'sync.sqlite3'}")
    create_sync_schema(engine)
    yield engine
    engine.dispose()
