"""A silent data-plane worker is shown stale with what it serves and since when, never dropped; the
fleet view groups workers by data plane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from migration_plan.cli.fleet_view import fleet_table
from strangler_proxy.controlplane.service_layer.worker_state import instance_of, worker_state

NOW = datetime(2026, 12, 4, 12, 5, 10, tzinfo=UTC)


def _row(worker: str, version: int, *, silent_s: float) -> dict:
    return {
        "worker": worker,
        "pid": int(worker.rsplit(":", 1)[1]),
        "version": version,
        "generation": version,
        "applied_at": datetime(2026, 12, 4, 12, 3, 7, tzinfo=UTC).isoformat(),
        "heartbeat_at": (NOW - timedelta(seconds=silent_s)).isoformat(),
    }


def test_instance_is_the_worker_id_without_its_pid() -> None:
    assert instance_of("web-3:/srv/strangler:4242") == "web-3:/srv/strangler"
    assert instance_of("host-a:17") == "host-a"
    assert instance_of("odd") == "odd"


def test_a_worker_silent_past_the_limit_is_stale_and_says_what_it_serves_since_when() -> None:
    fresh = worker_state(_row("host-a:1", 68, silent_s=1), NOW)
    assert fresh == {
        "instance": "host-a",
        "state": "serving",
        "silent_s": 1.0,
        "detail": "serving v68 since 12:03:07",
    }
    stale = worker_state(_row("host-b:2", 67, silent_s=30), NOW)
    assert stale["state"] == "stale" and stale["instance"] == "host-b"
    assert (
        stale["detail"] == "serving v67 since 12:03:07, store unreachable (silent 30 s, last heard 12:04:40)"
    )


def test_the_fleet_table_lists_every_data_plane_with_stale_and_behind_workers() -> None:
    rows = [
        _row("host-a:1", 68, silent_s=1),
        _row("host-a:2", 67, silent_s=1),
        _row("host-b:3", 67, silent_s=30),
    ]
    answer = {
        "active_version": 68,
        "workers": [{**r, "current": r["version"] == 68, **worker_state(r, NOW)} for r in rows],
    }
    console = Console(width=200, record=True)
    console.print(fleet_table(answer))
    text = console.export_text()
    assert "active v68: 1/2 live workers on it, 2 data planes" in text
    assert "behind" in text and "stale" in text and "store unreachable" in text
