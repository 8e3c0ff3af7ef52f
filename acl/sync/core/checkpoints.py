"""Checkpoints of resumable backfills (``sync_checkpoints``, by name): the last legacy id written, and
whether the run reached the end. A re-run continues after it; ``restart=True`` starts over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from acl.sync.core.tables import sync_checkpoints

__all__ = ["Checkpoint", "CheckpointStore"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    last_id: int
    done: bool


class CheckpointStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The sync database (the consumers' inboxes are there too)."""
        return self._engine

    def load(self, name: str) -> Checkpoint | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(sync_checkpoints).where(sync_checkpoints.c.name == name)).first()
        return None if row is None else Checkpoint(int(row.last_id), bool(row.done))

    def save(self, name: str, *, last_id: int, done: bool) -> None:
        values = {"last_id": last_id, "done": int(done), "updated_at": datetime.now(UTC).replace(tzinfo=None)}
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(sync_checkpoints).where(sync_checkpoints.c.name == name).values(**values)
            ).rowcount
            if not changed:
                connection.execute(insert(sync_checkpoints).values(name=name, **values))
