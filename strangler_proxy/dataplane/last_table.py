"""The last route table a data plane applied, kept in its home.

Written (atomically: a temporary file renamed into place) each time a worker applies a published
version; read at start when the store cannot be reached, so that a data plane restarted during a store
outage serves what the fleet served, never the bootstrap table that sends everything to the legacy.
Such a table is *unconfirmed* until a poll of the store succeeds: ``/readyz`` fails until then.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from strangler_proxy.routes import RouteTable

__all__ = ["KeptTable", "load_last_table", "save_last_table"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeptTable:
    table: RouteTable
    generation: int | None
    applied_at: datetime


def save_last_table(path: Path, table: RouteTable, generation: int | None, applied_at: datetime) -> None:
    """Keep ``table`` (with its version and pointer generation) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": table.version,
        "generation": generation,
        "applied_at": applied_at.isoformat(),
        "table": json.loads(table.to_json()),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    os.replace(temporary, path)


def load_last_table(path: Path) -> KeptTable | None:
    """The table kept at ``path``, or None when there is none or it cannot be read (logged)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        table = RouteTable.from_json(json.dumps(document["table"])).with_version(int(document["version"]))
        generation = document.get("generation")
        return KeptTable(
            table,
            None if generation is None else int(generation),
            datetime.fromisoformat(document["applied_at"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.error("the last applied route table in %s cannot be read (%s): not used", path, exc)
        return None
