"""JSON shapes of the service layer's records."""

from __future__ import annotations

from typing import Any

from strangler_proxy.controlplane.repositories.versions import ActivePointer, VersionRecord
from strangler_proxy.controlplane.service_layer.clock import as_utc

__all__ = ["pointer_dict", "version_dict"]


def version_dict(
    record: VersionRecord, *, with_table: bool = True, active_id: int | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": record.id,
        "author": record.author,
        "reason": record.reason,
        "parent": record.parent_id,
        "created_at": as_utc(record.created_at).isoformat(),
        "rules": len(record.table.rules),
    }
    if active_id is not None:
        data["active"] = record.id == active_id
    if with_table:
        data["table"] = record.table.model_dump(mode="json")
    return data


def pointer_dict(pointer: ActivePointer) -> dict[str, Any]:
    return {
        "version": pointer.version_id,
        "generation": pointer.generation,
        "changed_at": as_utc(pointer.changed_at).isoformat(),
        "previous_version": pointer.previous_version_id,
    }
